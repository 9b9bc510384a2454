"""A station with virtual handsets on chosen builds and the test releases published as a signed catalog."""

import shutil

from flasher.catalog.build import build_catalog
from flasher.catalog.trusted import SeenCatalogs
from flasher.history.store import HistoryStore
from flasher.selection.latest import LatestUpdate
from flasher.update.journal import Journal
from flasher.update.session import Options, Station
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import provision


class CatalogBench:
    """A station, handsets provisioned on chosen builds, and the releases published with a signed catalog."""

    def __init__(self, releases, root):
        self.releases, self.keys, self.root = releases, releases.keys, root
        self.published = shutil.copytree(releases.folder, root / "published")
        self.station = Station("bench-1", HistoryStore(root / "history.sqlite"), root / "logs",
                               Journal(root / "journal"))
        self.handsets: list[RunningHandset] = []

    def publish(self) -> None:
        build_catalog(sorted(self.published.rglob("*.zip")), [self.keys.signing], self.published / "catalog.json",
                      trust_store=self.keys.trust_store)

    def handset(self, serialno: str, build: str) -> RunningHandset:
        running = RunningHandset(self.root / serialno,
                                 small_profile(serialno, oem_public_key=self.keys.oem_public_pem))
        self.handsets.append(running)
        provision([running.handset], self.releases.full[build], self.keys, self.station)
        return running

    def latest(self, server=None, **kwargs) -> LatestUpdate:
        return LatestUpdate(self.keys.trust_store, catalog=server.url("catalog.json") if server else None,
                            downloads=self.root / "downloads", seen=SeenCatalogs(self.root / "seen"), **kwargs)

    def run(self, latest, handsets):
        plans = latest.plan([h.address for h in handsets])
        return plans, latest.run(plans, self.station, options=Options(return_timeout=20))
