"""`LatestUpdate` against virtual handsets and a catalog served on loopback: identify, choose, fetch, update."""

import hashlib

import pytest

from flasher.catalog.errors import CatalogSignatureError, DownloadHashMismatch
from flasher.catalog.model import Catalog, CatalogEntry, decode, encode, parse_catalog
from flasher.fastboot import FastbootDevice
from flasher.library.index import Library, LibraryStale
from flasher.selection.choose import LIBRARY, Candidate
from tests.support.catalog_bench import bench as bench  # the station and its catalog
from tests.support.http_server import FileServer
from tests.support.releases import flip_byte

SLOT_B = ("boot_b", "system_b", "vbmeta_b")


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_plans_say_which_package_and_why(bench):
    on_source, on_older, newest = bench.handset("VH000001", "B120"), bench.handset("VH000002", "B110"), \
        bench.handset("VH000003", "B130")
    with FileServer(bench.published) as server:
        plans = bench.latest(server).plan([on_source.address, on_older.address, newest.address, "tcp:127.0.0.1:1"])
    assert plans[0].identity.build == "B120" and plans[0].identity.rollback_index == 1
    assert plans[0].describe().startswith("B120 -> B130: delta ") and plans[0].describe().endswith(
        " from B120 to B130")
    assert plans[0].choice.fallback.type == "full"
    assert plans[1].describe().startswith("B110 -> B130: full ") and "no delta from B110" in plans[1].describe()
    assert plans[2].up_to_date and plans[2].describe() == "already up to date (B130)"
    assert plans[3].choice is None and not plans[3].up_to_date and "cannot connect" in plans[3].describe()
    assert server.requests == [("/catalog.json", None)]  # nothing downloaded to plan


def test_a_cut_download_resumes_and_the_handset_is_updated(bench):
    running = bench.handset("VH000001", "B110")
    with FileServer(bench.published, cut_after=200_000) as server:
        plans, (report,) = bench.run(bench.latest(server), [running])
        ranges = server.ranges("tsuf_zte_ab-B130.zip")
    assert report.result == "SUCCESS", report.message
    assert (report.package_type, report.to_build) == ("full", "B130")
    assert ranges == [None, "bytes=200000-"]


def test_a_package_whose_hash_differs_from_the_catalog_is_refused_before_use(bench):
    running = bench.handset("VH000001", "B110")
    flip_byte(bench.published / bench.releases.full["B130"].name, 5000)
    before = [running.partition(stem) for stem in SLOT_B]
    with FileServer(bench.published) as server, pytest.raises(DownloadHashMismatch):
        bench.run(bench.latest(server), [running])
    assert [running.partition(stem) for stem in SLOT_B] == before
    assert list((bench.root / "downloads").iterdir()) == []


def test_a_tampered_catalog_stops_everything_before_a_handset_is_read(bench):
    catalog = bench.published / "catalog.json"
    catalog.write_bytes(catalog.read_bytes().replace(b'"B110"', b'"B111"'))
    with FileServer(bench.published) as server, pytest.raises(CatalogSignatureError):
        bench.latest(server).plan(["tcp:127.0.0.1:1"])


def test_a_delta_that_does_not_apply_falls_back_to_the_full_fetched_only_then(bench):
    running = bench.handset_with_changed_system("VH000001", "B120")
    with FileServer(bench.published) as server:
        plans, (report,) = bench.run(bench.latest(server), [running])
        paths = [path for path, _ in server.requests]
    assert plans[0].choice.package.type == "delta"
    assert report.result == "SUCCESS" and report.package_type == "full", report.message
    assert paths.index("/deltas/tsuf_zte_ab-B120-B130.zip") < paths.index("/tsuf_zte_ab-B130.zip")
    assert [r.result for r in bench.station.history.query()][:2] == ["SUCCESS", "DELTA_SOURCE_MISMATCH"]


def test_the_library_is_used_before_anything_is_downloaded(bench, tmp_path):
    running = bench.handset("VH000001", "B120")
    library = Library(tmp_path / "library.json")
    library.add(bench.published)
    library.scan(bench.keys.trust_store)
    with FileServer(bench.published) as server:
        plans, (report,) = bench.run(bench.latest(server, library=library), [running])
        assert server.requests == [("/catalog.json", None)]
    assert plans[0].choice.package.origin == LIBRARY
    assert report.result == "SUCCESS" and report.package_type == "delta"


def test_a_package_that_is_not_what_the_catalog_says_is_refused_and_recorded(bench):
    running = bench.handset("VH000001", "B110")
    catalog_file = bench.published / "catalog.json"
    catalog = parse_catalog(decode(catalog_file.read_bytes()).signed_bytes)
    b120 = next(e for e in catalog.packages if e.build == "B120")
    claims_b130 = CatalogEntry(**{**b120.to_dict(), "build": "B140", "hw_revisions": ("10000",)})
    catalog_file.write_bytes(encode(Catalog(catalog.version + 1, catalog.expires, (claims_b130,)), [bench.keys.signing]))
    before = running.partition("system_b")
    with FileServer(bench.published) as server:
        _, (report,) = bench.run(bench.latest(server), [running])
    assert report.result == "PACKAGE_CORRUPT" and "not what the catalog says" in report.message
    assert report.device_serial == "VH000001"
    assert running.partition("system_b") == before


def test_a_library_file_changed_since_the_scan_is_refused(bench, releases):
    stale = Candidate("tsuf_zte_ab-B130", "tsuf_zte_ab", ("10000",), "B130", 2, "full", size=1,
                      location=str(releases.full["B120"]), origin=LIBRARY)
    with pytest.raises(LibraryStale, match="not what the library says"):
        bench.latest().open(stale, bench.station)


def test_a_sideload_package_passed_off_as_a_fastboot_one_is_refused(bench):
    ota = bench.add_ota("B130")
    posing = Candidate("tsuf_zte_ab-B130", "tsuf_zte_ab", ("10000",), "B130", 2, "full", size=1, location=str(ota),
                       origin=LIBRARY)
    with pytest.raises(LibraryStale, match="B130 for sideload, not what the library says .* for fastboot"):
        bench.latest().open(posing, bench.station)



def test_a_locked_handset_sideloads_and_an_unlocked_one_takes_fastboot_both_to_the_new_build(bench):
    ota = bench.add_ota("B130")
    bench.publish()
    locked, unlocked = bench.handset("VH000001", "B120", locked=True), bench.handset("VH000002", "B120")
    with FileServer(bench.published) as server:
        plans, reports = bench.run(bench.latest(server), [locked, unlocked])
        fetched = sorted(path for path, _ in server.requests)
    assert plans[0].identity.locked and not plans[1].identity.locked
    assert plans[0].choice.package.install == "sideload" and plans[0].choice.package.sha256 == sha256_of(ota)
    assert plans[0].describe().startswith("B120 -> B130: full ")
    assert plans[0].describe().endswith(" through recovery: the bootloader is locked")
    assert (plans[1].choice.package.install, plans[1].choice.package.type) == ("fastboot", "delta")
    assert fetched == ["/catalog.json", "/deltas/tsuf_zte_ab-B120-B130.zip", "/ota/tsuf_zte_ab-B130-0-ota.zip"]
    assert [(r.result, r.path, r.to_build) for r in reports] == [("SUCCESS", "sideload", "B130"),
                                                                 ("SUCCESS", "fastboot-ab", "B130")], \
        [r.message for r in reports]
    for running in (locked, unlocked):
        with FastbootDevice.open(running.address) as device:
            assert (device.getvar("build"), device.current_slot()) == ("B130", "b")
