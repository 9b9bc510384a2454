"""A signed update catalog beside the demo bench's packages, so "update to latest" and the guided
mode can be tried without a publisher: it lists the bench's builds, signed by its release key."""

from collections.abc import Callable
from pathlib import Path

from flasher.catalog.build import build_catalog
from flasher.catalog.trusted import SeenCatalogs
from flasher.package.keys import load_private_key
from flasher.selection.latest import LatestUpdate
from flasher.virtual.demo import DemoBench


def publish_demo_catalog(bench: DemoBench) -> Path:
    """catalog.json in the bench's folder, listing its factory and update packages."""
    output = bench.folder / "catalog.json"
    build_catalog([bench.factory_package, bench.update_package], [load_private_key(bench.folder / "keys" /
                                                                                   "release.pem")],
                  output, trust_store=bench.trust_store)
    return output


def demo_latest(bench: DemoBench) -> Callable[[], LatestUpdate]:
    """LatestUpdate on the demo catalog, with downloads and the catalog record kept in the bench's folder."""
    catalog = str(publish_demo_catalog(bench))
    return lambda: LatestUpdate(bench.trust_store, catalog=catalog, downloads=bench.folder / "downloads",
                                seen=SeenCatalogs(bench.folder / "seen-catalogs"))
