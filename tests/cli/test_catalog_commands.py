"""`tsuf catalog build|show` and `tsuf library add|list|scan|remove` as a publisher and a shop run them."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from flasher.package import keys
from flasher.package.trust import TrustStore
from tests.support.packages import make_ota_package
from tests.support.releases import releases as releases  # the publisher's folder, built once


@pytest.fixture
def tsuf(tmp_path):
    def run(*args, check=True, **env):
        environment = {**os.environ, "TSUF_HOME": str(tmp_path / "home"), **env}
        if "TSUF_CATALOG" not in env:
            environment.pop("TSUF_CATALOG", None)
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                                timeout=60, env=environment)
        assert result.returncode == 0 or not check, result.stderr
        return result
    return run


@pytest.fixture
def published(releases, tmp_path):
    return shutil.copytree(releases.folder, tmp_path / "published")


def test_build_a_catalog_then_show_it(releases, published, tsuf):
    trust = ("--trust-store", str(releases.keys.trust_store.folder))
    key = str(releases.keys.trust_store.folder.parent / "keys" / "release.pem")
    packages = [str(path) for path in sorted(published.rglob("*.zip"))]
    built = tsuf("catalog", "build", *packages, "--key", key, "-o", str(published / "catalog.json"),
                 "--expires-in", "2", "--version", "12", *trust)
    assert built.stdout.startswith("catalog version 12, expires ") and "4 package(s)" in built.stdout
    assert "delta" in built.stdout and "from B120" in built.stdout
    shown = json.loads(tsuf("catalog", "show", str(published), "--json", *trust).stdout)
    assert shown["version"] == 12 and len(shown["packages"]) == 4
    assert shown["url"] == str(published / "catalog.json")
    from_settings = tsuf("catalog", "show", *trust, TSUF_CATALOG=str(published / "catalog.json")).stdout
    assert "version 12" in from_settings and str(published / "deltas" / releases.delta.name) in from_settings
    older = tsuf("catalog", "build", *packages, "--key", key, "-o", str(published / "old.json"), "--version", "11",
                 *trust)
    assert older.returncode == 0
    shutil.copy(published / "old.json", published / "catalog.json")
    refused = tsuf("catalog", "show", str(published), *trust, check=False)
    assert refused.returncode == 1 and "already saw version 12" in refused.stderr


def test_show_without_a_catalog_says_how_to_set_one(tsuf):
    result = tsuf("catalog", "show", check=False)
    assert result.returncode == 1 and "tsuf settings --catalog URL" in result.stderr


def test_a_shops_library_is_added_listed_scanned_and_removed(releases, published, tsuf):
    trust = ("--trust-store", str(releases.keys.trust_store.folder))
    added = tsuf("library", "add", str(published), *trust).stdout
    assert f"added {published}" in added and "4 package(s) indexed" in added
    listed = json.loads(tsuf("library", "list", "--json").stdout)
    assert listed["folders"] == [str(published)]
    assert sorted((p["build"], p["type"]) for p in listed["packages"]) == [
        ("B110", "full"), ("B120", "full"), ("B130", "delta"), ("B130", "full")]
    (published / "tsuf_zte_ab-B110.zip").unlink()
    (published / "junk.zip").write_bytes(b"no zip at all")
    scanned = json.loads(tsuf("library", "scan", "--json", *trust).stdout)
    assert len(scanned["packages"]) == 3
    assert [item["path"] for item in scanned["skipped"]] == [str(published / "junk.zip")]
    assert "B130" in tsuf("library", "list").stdout
    tsuf("library", "remove", str(published))
    assert json.loads(tsuf("library", "list", "--json").stdout)["packages"] == []
    gone = tsuf("library", "remove", str(published), check=False)
    assert gone.returncode == 1 and "tsuf library list" in gone.stderr


def test_the_station_remembers_its_catalog(tsuf):
    tsuf("settings", "--catalog", "https://updates.example/tsuf/catalog.json")
    shown = json.loads(tsuf("--json", "settings").stdout)
    assert shown["catalog_url"] == "https://updates.example/tsuf/catalog.json"
    overridden = json.loads(tsuf("--json", "settings", TSUF_CATALOG="/srv/catalog.json").stdout)
    assert overridden["catalog_url"] == "/srv/catalog.json"


def test_listings_tell_a_recovery_package_from_a_fastboot_one(releases, published, tsuf, tmp_path):
    trust_store = TrustStore(tmp_path / "trust")
    shutil.copytree(releases.keys.trust_store.folder, trust_store.folder, dirs_exist_ok=True)
    public = tmp_path / "oem.pub.pem"
    public.write_bytes(keys.public_pem(releases.keys.oem.public_key))
    trust_store.import_key(public)
    make_ota_package(published, releases.keys, build="B130")
    trust = ("--trust-store", str(trust_store.folder))
    key = str(releases.keys.trust_store.folder.parent / "keys" / "release.pem")
    built = tsuf("catalog", "build", *map(str, sorted(published.rglob("*.zip"))), "--key", key,
                 "-o", str(published / "catalog.json"), *trust).stdout
    b130_full = [line for line in built.splitlines() if " B130 " in line and " full" in line]
    assert len(b130_full) == 2 and ["full (recovery)" in line for line in b130_full].count(True) == 1
    tsuf("library", "add", str(published), *trust)
    listed = [line for line in tsuf("library", "list").stdout.splitlines() if "-ota.zip" in line]
    assert len(listed) == 1 and "full (recovery)" in listed[0]
