"""`tsuf update --latest` with a manufacturer's full OTA (payload.bin) in the library: chosen by the
same rules as a package, updating the handset as `tsuf update OTA.zip` does; one that no longer
verifies when opened is a refusal for its handsets, which are left untouched."""

import pytest

from flasher.library.index import Library
from flasher.package.summary import VENDOR_OTA
from tests.payload import generator
from tests.support.catalog_bench import bench as bench  # the station and its handsets
from tests.support.packages import PRODUCT
from tests.support.vendor_ota import MiB, full_ota, incremental_ota, oem_certificate

SLOT_B = ("boot_b", "system_b", "vbmeta_b")


@pytest.fixture
def shop(bench, tmp_path):
    """The library holds the maker's full OTA of B140, signed with an OEM certificate the station trusts."""
    oem_key = generator.rsa_key()
    bench.trust_store.import_oem_certificate(oem_certificate(tmp_path, oem_key))
    folder = tmp_path / "firmware"
    images = full_ota(folder / f"{PRODUCT}-B140-ota.zip", bench.keys, oem_key)
    library = Library(tmp_path / "library.json")
    library.add(folder)
    library.scan(bench.trust_store)
    return library, images


def test_a_full_ota_in_the_library_is_chosen_and_updates_the_handset(bench, shop):
    library, images = shop
    running = bench.handset("VH000001", "B120")
    plans, (report,) = bench.run(bench.latest(library=library), [running])
    choice = plans[0].choice
    assert (choice.package.kind, choice.package.build) == (VENDOR_OTA, "B140")
    assert "its rollback index is not stated" in choice.reason
    assert report.result == "SUCCESS" and report.to_build == "B140", report.message
    assert running.partition("boot_b")[:MiB] == images["boot"]


def test_an_ota_whose_certificate_was_revoked_since_the_scan_is_refused_for_its_handsets(bench, shop):
    library, _ = shop
    running = bench.handset("VH000001", "B120")
    before = [running.partition(stem) for stem in SLOT_B]
    for certificate in bench.trust_store.oem_certificates():
        bench.trust_store.remove_oem_certificate(certificate.key_id)
    plans, (report,) = bench.run(bench.latest(library=library), [running])
    assert plans[0].choice.package.kind == VENDOR_OTA  # the index is a hint: chosen, then verified when opened
    assert report.result == "PACKAGE_UNTRUSTED" and "could not be checked" in report.message
    assert [running.partition(stem) for stem in SLOT_B] == before


def test_an_incremental_ota_in_the_library_opens_as_the_delta_it_was_indexed_as(bench, tmp_path):
    """The library says "incremental"; the opened OTA is a delta from the same build, not a stale entry."""
    oem_key = generator.rsa_key()
    bench.trust_store.import_oem_certificate(oem_certificate(tmp_path, oem_key))
    incremental_ota(tmp_path / "firmware" / f"{PRODUCT}-B130-B140-ota.zip", oem_key)
    library = Library(tmp_path / "library.json")
    library.add(tmp_path / "firmware")
    library.scan(bench.trust_store)
    latest = bench.latest(library=library)
    (ota,) = [candidate for candidate in latest.candidates() if candidate.kind == VENDOR_OTA]
    assert (ota.type, ota.source_build, ota.build) == ("incremental", "B130", "B140")
    with latest.open(ota, bench.station) as updater:
        assert (updater.manifest.type, updater.manifest.source_build) == ("delta", "B130")
