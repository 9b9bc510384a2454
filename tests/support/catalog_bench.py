"""A station with virtual handsets on chosen builds and the test releases published as a signed catalog."""

import shutil
from pathlib import Path

import pytest

from flasher.catalog.build import build_catalog
from flasher.catalog.trusted import SeenCatalogs
from flasher.history.store import HistoryStore
from flasher.package import keys
from flasher.package.trust import TrustStore
from flasher.selection.latest import LatestUpdate
from flasher.update.journal import Journal
from flasher.update.session import Options, Station
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import make_ota_package, provision
from tests.support.releases import ROLLBACK


class CatalogBench:
    """A station, handsets provisioned on chosen builds, and the releases published with a signed catalog."""

    def __init__(self, releases, root):
        self.releases, self.keys, self.root = releases, releases.keys, root
        self.published = shutil.copytree(releases.folder, root / "published")
        # The bench's own copy: publishing an OEM-signed package adds the OEM key here, not to the shared releases.
        self.trust_store = TrustStore(shutil.copytree(self.keys.trust_store.folder, root / "trust"))
        self.station = Station("bench-1", HistoryStore(root / "history.sqlite"), root / "logs",
                               Journal(root / "journal"))
        self.handsets: list[RunningHandset] = []

    def publish(self) -> None:
        build_catalog(sorted(self.published.rglob("*.zip")), [self.keys.signing], self.published / "catalog.json",
                      trust_store=self.trust_store)

    def add_ota(self, build: str) -> Path:
        """The manufacturer's signed update of `build` (OEM key, installed by recovery) among the published
        packages, and the OEM key in the bench's trust store; publish() again to list it."""
        public = self.root / "oem.pub.pem"
        public.write_bytes(keys.public_pem(self.keys.oem.public_key))
        self.trust_store.import_key(public)
        return make_ota_package(self.published / "ota", self.keys, build=build, rollback_index=ROLLBACK[build])

    def handset(self, serialno: str, build: str, *, locked: bool = False) -> RunningHandset:
        """With `locked`, the bootloader refuses fastboot writes and recovery's ADB answers on the next port."""
        running = RunningHandset(self.root / serialno,
                                 small_profile(serialno, oem_public_key=self.keys.oem_public_pem,
                                               unlocked=not locked), adb=locked)
        self.handsets.append(running)
        provision([running.handset], self.releases.full[build], self.keys, self.station)
        return running

    def latest(self, server=None, **kwargs) -> LatestUpdate:
        return LatestUpdate(self.trust_store, catalog=server.url("catalog.json") if server else None,
                            downloads=self.root / "downloads", seen=SeenCatalogs(self.root / "seen"), **kwargs)

    def run(self, latest, handsets):
        plans = latest.plan([h.address for h in handsets])
        return plans, latest.run(plans, self.station, options=Options(return_timeout=20))

    def handset_with_changed_system(self, serialno: str, build: str) -> RunningHandset:
        """A handset that says it runs `build` while its system partition is not that build's."""
        running = self.handset(serialno, build)
        system_a = running.handset.storage.path("system_a")
        data = bytearray(system_a.read_bytes())
        data[4096:4100] = b"\xde\xad\xbe\xef"
        system_a.write_bytes(bytes(data))
        return running


@pytest.fixture
def bench(releases, tmp_path):
    """Import it (with `releases`) into a test module or conftest.py to use it there."""
    bench = CatalogBench(releases, tmp_path)
    bench.publish()
    yield bench
    for running in bench.handsets:
        running.stop()
