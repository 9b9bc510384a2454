"""`tsuf update --latest` as a station runs it: a catalog and packages on a loopback HTTP server."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from flasher.catalog.build import build_catalog
from flasher.fastboot import FastbootDevice
from flasher.history.store import HistoryStore
from flasher.update.journal import Journal
from flasher.update.session import Station
from tests.payload import generator
from tests.support.handsets import RunningHandset, small_profile
from tests.support.http_server import FileServer
from tests.support.packages import provision
from tests.support.releases import releases as releases  # the publisher's folder, built once
from tests.support.vendor_ota import full_ota, oem_certificate

SLOT_B = ("boot_b", "system_b", "vbmeta_b")


@pytest.fixture
def station(releases, tmp_path):
    class Bench:
        home = tmp_path / "home"
        keys = releases.keys
        published = shutil.copytree(releases.folder, tmp_path / "published")
        factory = Station("factory", HistoryStore(tmp_path / "factory.sqlite"), tmp_path / "logs",
                          Journal(tmp_path / "journal"))
        handsets: list[RunningHandset] = []

        def handset(self, serialno: str, build: str, *, locked: bool = False) -> RunningHandset:
            running = RunningHandset(tmp_path / serialno,
                                     small_profile(serialno, oem_public_key=self.keys.oem_public_pem,
                                                   unlocked=not locked))
            self.handsets.append(running)
            provision([running.handset], releases.full[build], self.keys, self.factory)
            return running

        def tsuf(self, *args, check=True, **env):
            environment = {**os.environ, "TSUF_HOME": str(self.home), "TSUF_STATION": "bench-7", **env}
            for name in ("TSUF_BACKEND", "TSUF_HISTORY", "TSUF_CATALOG"):
                if name not in env:
                    environment.pop(name, None)
            result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True,
                                    text=True, timeout=120, env=environment)
            assert result.returncode == 0 or not check, result.stderr
            return result

        def latest(self, handsets, *extra, check=True, **env):
            targets = [arg for running in handsets for arg in ("-s", running.address)]
            return self.tsuf(*targets, "update", "--latest", "--trust-store", str(self.keys.trust_store.folder),
                             *extra, check=check, **env)

    bench = Bench()
    build_catalog(sorted(bench.published.rglob("*.zip")), [bench.keys.signing], bench.published / "catalog.json",
                  trust_store=bench.keys.trust_store)
    yield bench
    for running in bench.handsets:
        running.stop()


def build_of(running: RunningHandset) -> str:
    with FastbootDevice.open(running.address) as device:
        return device.getvar("build")


def test_the_delta_for_its_source_build_the_full_for_another_and_both_end_identical(station):
    on_source, on_older = station.handset("VH000001", "B120"), station.handset("VH000002", "B110")
    with FileServer(station.published) as server:
        result = station.latest([on_source, on_older], "--catalog", server.url("catalog.json"))
        downloads = [path for path, _ in server.requests]
    lines = {}  # the plan is each handset's first line; its states follow
    for line in result.stderr.splitlines():
        if line.startswith("VH"):
            lines.setdefault(line.split()[0], line)
    assert "B120 -> B130: delta " in lines["VH000001"] and lines["VH000001"].endswith(" from B120 to B130")
    assert "B110 -> B130: full " in lines["VH000002"] and lines["VH000002"].endswith(": no delta from B110")
    assert sorted(downloads) == ["/catalog.json", "/deltas/tsuf_zte_ab-B120-B130.zip", "/tsuf_zte_ab-B130.zip"]
    rows = [line.split()[:4] for line in result.stdout.splitlines() if line.startswith("VH")]
    assert rows == [["VH000001", "a->b", "B120->B130", "success"], ["VH000002", "a->b", "B110->B130", "success"]]
    assert build_of(on_source) == build_of(on_older) == "B130"
    for stem in SLOT_B:
        assert on_source.partition(stem) == on_older.partition(stem)
    reports = json.loads(station.tsuf("history", "--json", "--local").stdout)
    assert sorted((r["device_serial"], r["package_type"]) for r in reports) == [("VH000001", "delta"),
                                                                                 ("VH000002", "full")]

    with FileServer(station.published) as server:  # a second run has nothing to do
        again = station.latest([on_source, on_older], "--catalog", server.url("catalog.json"))
    assert again.stderr.count("already up to date (B130)") == 2
    assert len(json.loads(station.tsuf("history", "--json", "--local").stdout)) == 2


def test_a_dry_run_shows_the_plan_and_fetches_nothing(station):
    running = station.handset("VH000001", "B120")
    before = running.partition("system_b")
    with FileServer(station.published) as server:
        result = station.latest([running], "--dry-run", "--json", TSUF_CATALOG=server.url("catalog.json"))
        assert server.requests == [("/catalog.json", None)]
    (plan,) = json.loads(result.stdout)
    assert (plan["serialno"], plan["build"], plan["type"], plan["to_build"]) == ("VH000001", "B120", "delta", "B130")
    assert plan["reason"].startswith("delta ")
    assert (plan["install"], plan["locked"]) == ("fastboot", False)
    assert running.partition("system_b") == before


def test_a_locked_handset_offered_only_fastboot_packages_is_told_what_to_do(station):
    running = station.handset("VH000001", "B120", locked=True)
    with FileServer(station.published) as server:
        result = station.latest([running], check=False, TSUF_CATALOG=server.url("catalog.json"))
        assert server.requests == [("/catalog.json", None)]
    assert result.returncode == 1
    plan, hint = [line.split(None, 1)[1] if line.startswith("VH") else line.strip()
                  for line in result.stderr.splitlines()[:2]]
    assert plan == "VH000001 runs B120 and its bootloader is locked: B130 is offered only for unlocked bootloaders"
    assert hint == ("Get the manufacturer's signed update for tsuf_zte_ab (installed through recovery), or unlock "
                    "the bootloader (this erases the user's data).")


def test_an_older_catalog_is_refused_by_name_and_nothing_is_written(station):
    running = station.handset("VH000001", "B110")
    before = running.partition("system_b")
    catalog = station.published / "catalog.json"
    newer = station.published / "newer.json"
    build_catalog(sorted(station.published.rglob("*.zip")), [station.keys.signing], newer,
                  trust_store=station.keys.trust_store, version=4_000_000_000)
    older = catalog.read_bytes()
    with FileServer(station.published) as server:
        station.tsuf("settings", "--catalog", server.url("catalog.json"))
        catalog.write_bytes(newer.read_bytes())
        station.latest([running], "--dry-run")
        catalog.write_bytes(older)
        result = station.latest([running], check=False)
    assert result.returncode == 1
    assert "tsuf: error: the catalog at" in result.stderr and "already saw version 4000000000" in result.stderr
    assert "serving an older one" in result.stderr
    assert running.partition("system_b") == before


def test_a_catalog_signed_by_a_package_only_key_is_refused_by_name_and_nothing_is_written(station, tmp_path):
    running = station.handset("VH000001", "B120")
    before = running.partition("system_b")
    trust = shutil.copytree(station.keys.trust_store.folder, tmp_path / "package-only")
    key_id = station.keys.signing.key_id
    station.tsuf("keys", "scope", key_id, "--no-catalogs", "--trust-store", str(trust))
    with FileServer(station.published) as server:
        result = station.tsuf("-s", running.address, "update", "--latest", "--catalog", server.url("catalog.json"),
                              "--trust-store", str(trust), check=False)
    assert result.returncode == 1
    assert "does not allow to sign catalogs" in result.stderr and f"tsuf keys scope {key_id} --catalogs" in result.stderr
    assert running.partition("system_b") == before


def test_a_full_vendor_ota_listed_in_the_catalog_updates_the_handset(station, tmp_path):
    """The publisher trusts the maker's OTA certificate and lists its OTA; so does the station."""
    running = station.handset("VH000001", "B120")
    oem_key = generator.rsa_key()
    trust = shutil.copytree(station.keys.trust_store.folder, tmp_path / "with-oem")
    station.tsuf("payload", "trust", str(oem_certificate(tmp_path, oem_key)), "--trust-store", str(trust))
    ota = station.published / "vendor" / "tsuf_zte_ab-B140-ota.zip"
    images = full_ota(ota, station.keys, oem_key)
    key = str(station.keys.trust_store.folder.parent / "keys" / "release.pem")
    built = station.tsuf("catalog", "build", *map(str, sorted(station.published.rglob("*.zip"))), "--key", key,
                         "-o", str(station.published / "catalog.json"), "--trust-store", str(trust)).stdout
    assert any("B140" in line and "full vendor OTA" in line and "vendor/" in line for line in built.splitlines())
    with FileServer(station.published) as server:
        result = station.tsuf("-s", running.address, "update", "--latest", "--catalog", server.url("catalog.json"),
                              "--trust-store", str(trust))
        downloads = [path for path, _ in server.requests]
    assert "B120 -> B140: full " in result.stderr.splitlines()[0]
    assert downloads == ["/catalog.json", "/vendor/tsuf_zte_ab-B140-ota.zip"]
    assert build_of(running) == "B140"
    assert running.partition("boot_b")[:len(images["boot"])] == images["boot"]


def test_a_package_or_latest_but_not_both_nor_neither(station):
    result = station.tsuf("-s", "tcp:127.0.0.1:1", "update", check=False)
    assert result.returncode == 1 and "no package to install" in result.stderr and "--latest" in result.stderr
    result = station.tsuf("-s", "tcp:127.0.0.1:1", "update", "x.zip", "--latest", check=False)
    assert result.returncode == 1 and "not both" in result.stderr
