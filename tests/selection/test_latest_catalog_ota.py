"""`tsuf update --latest` with a manufacturer's OTA listed in the signed catalog: downloaded and checked
against the zip's hash, opened and checked against the payload's hash and the OEM signature the station
trusts, then written as `tsuf update OTA.zip` writes it. Anything that does not match leaves the handset
untouched."""

import shutil
from dataclasses import replace

import pytest

from flasher.catalog.build import build_catalog
from flasher.catalog.errors import DownloadHashMismatch
from flasher.catalog.model import Catalog, decode, encode, parse_catalog
from flasher.package.summary import VENDOR_OTA
from flasher.package.trust import TrustStore
from flasher.selection.choose import CATALOG
from flasher.selection.latest import LatestUpdate
from tests.payload import generator
from tests.support.catalog_bench import bench as bench  # the station and its catalog
from tests.support.http_server import FileServer
from tests.support.packages import PRODUCT
from tests.support.releases import flip_byte
from tests.support.vendor_ota import MiB, full_ota, incremental_ota, oem_certificate

SLOT_B = ("boot_b", "system_b", "vbmeta_b")
OTA_URL = f"vendor/{PRODUCT}-B140-ota.zip"


@pytest.fixture
def oem_key():
    return generator.rsa_key()


@pytest.fixture
def listed(bench, oem_key):
    """The catalog lists the maker's full OTA of B140; publisher and station trust its OEM certificate."""
    bench.trust_store.import_oem_certificate(oem_certificate(bench.root, oem_key))
    images = full_ota(bench.published / OTA_URL, bench.keys, oem_key)
    bench.publish()
    return images


def relist(bench, **changes) -> None:
    """The catalog again, its OTA entry changed as `changes` say, signed by the publisher's key."""
    path = bench.published / "catalog.json"
    catalog = parse_catalog(decode(path.read_bytes()).signed_bytes)
    entries = tuple(replace(e, **changes) if e.kind == VENDOR_OTA else e for e in catalog.packages)
    path.write_bytes(encode(Catalog(catalog.version + 1, catalog.expires, entries, format_version=2),
                            [bench.keys.signing]))


def test_a_full_ota_listed_in_the_catalog_is_downloaded_and_updates_the_handset(bench, listed):
    running = bench.handset("VH000001", "B120")
    with FileServer(bench.published) as server:
        plans, (report,) = bench.run(bench.latest(server), [running])
        fetched = [path for path, _ in server.requests]
    package = plans[0].choice.package
    assert (package.kind, package.origin, package.build, package.type) == (VENDOR_OTA, CATALOG, "B140", "full")
    assert "its rollback index is not stated" in plans[0].choice.reason
    assert fetched == ["/catalog.json", f"/{OTA_URL}"]
    assert report.result == "SUCCESS" and report.to_build == "B140", report.message
    assert report.package_sha256 == package.payload_sha256 != package.sha256
    assert running.partition("boot_b")[:MiB] == listed["boot"]
    assert [p.name for p in (bench.root / "downloads").iterdir()] == [f"{package.sha256}.zip"]


def test_a_tampered_ota_download_is_refused_by_its_hash_and_nothing_is_written(bench, listed):
    running = bench.handset("VH000001", "B120")
    flip_byte(bench.published / OTA_URL, 100_000)
    before = [running.partition(stem) for stem in SLOT_B]
    with FileServer(bench.published) as server, pytest.raises(DownloadHashMismatch, match="tampered"):
        bench.run(bench.latest(server), [running])
    assert [running.partition(stem) for stem in SLOT_B] == before
    assert list((bench.root / "downloads").iterdir()) == []


def test_an_ota_whose_payload_is_not_the_catalogs_is_refused_and_nothing_is_written(bench, listed):
    relist(bench, payload_sha256="00" * 32)  # the zip is the one listed, the payload hash another
    running = bench.handset("VH000001", "B120")
    before = [running.partition(stem) for stem in SLOT_B]
    with FileServer(bench.published) as server, pytest.raises(DownloadHashMismatch, match="payload_sha256"):
        bench.run(bench.latest(server), [running])
    assert [running.partition(stem) for stem in SLOT_B] == before
    assert list((bench.root / "downloads").iterdir()) == []


def test_an_ota_that_is_not_the_build_the_catalog_says_is_refused_and_recorded(bench, listed):
    relist(bench, build="B150")
    running = bench.handset("VH000001", "B120")
    before = [running.partition(stem) for stem in SLOT_B]
    with FileServer(bench.published) as server:
        plans, (report,) = bench.run(bench.latest(server), [running])
    assert plans[0].choice.package.build == "B150"
    assert report.result == "PACKAGE_CORRUPT" and "not what the catalog says" in report.message
    assert [running.partition(stem) for stem in SLOT_B] == before


def test_a_catalog_never_makes_an_ota_the_station_does_not_trust_trusted(bench, oem_key):
    """The catalog's key is trusted; the OTA's OEM key is trusted by the publisher, not by the station."""
    publisher = TrustStore(shutil.copytree(bench.trust_store.folder, bench.root / "publisher-trust"))
    publisher.import_oem_certificate(oem_certificate(bench.root, oem_key))
    bench.trust_store.import_oem_certificate(oem_certificate(bench.root, generator.rsa_key()))
    full_ota(bench.published / OTA_URL, bench.keys, oem_key)
    build_catalog(sorted(bench.published.rglob("*.zip")), [bench.keys.signing], bench.published / "catalog.json",
                  trust_store=publisher)
    running = bench.handset("VH000001", "B120")
    before = [running.partition(stem) for stem in SLOT_B]
    with FileServer(bench.published) as server:
        plans, (report,) = bench.run(bench.latest(server), [running])
    assert plans[0].choice.package.kind == VENDOR_OTA  # chosen from the catalog, then verified when opened
    assert report.result == "PACKAGE_UNTRUSTED" and "signatures are not both by" in report.message
    assert [running.partition(stem) for stem in SLOT_B] == before


def test_an_incremental_ota_from_the_catalog_opens_as_the_delta_it_lists(bench, oem_key):
    bench.trust_store.import_oem_certificate(oem_certificate(bench.root, oem_key))
    incremental_ota(bench.published / "vendor" / "B130-B140.zip", oem_key)
    bench.publish()
    latest = LatestUpdate(bench.trust_store, catalog=str(bench.published), downloads=bench.root / "downloads",
                          seen=bench.latest().seen)
    (ota,) = [c for c in latest.candidates() if c.kind == VENDOR_OTA]
    assert (ota.type, ota.source_build, ota.build) == ("incremental", "B130", "B140")
    with latest.open(ota, bench.station) as updater:
        assert (updater.manifest.type, updater.manifest.source_build) == ("delta", "B130")
