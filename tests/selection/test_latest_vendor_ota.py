"""`tsuf update --latest` with a manufacturer's full OTA (payload.bin) in the library: chosen by the
same rules as a package, updating the handset as `tsuf update OTA.zip` does; one that no longer
verifies when opened is a refusal for its handsets, which are left untouched."""

import hashlib
import os

import pytest

from flasher.library.index import Library
from flasher.package.bootmeta import make_boot_metadata
from flasher.package.summary import VENDOR_OTA
from tests.payload import generator
from tests.support.catalog_bench import bench as bench  # the station and its handsets
from tests.support.packages import PRODUCT
from tests.support.releases import ROLLBACK

MiB = 1 << 20
SLOT_B = ("boot_b", "system_b", "vbmeta_b")


@pytest.fixture
def shop(bench, tmp_path):
    """The library holds the maker's full OTA of B140, signed with an OEM certificate the station trusts."""
    oem_key = generator.rsa_key()
    certificate = tmp_path / "otacert.pem"
    certificate.write_bytes(generator.certificate_pem(oem_key))
    bench.trust_store.import_oem_certificate(certificate)
    product = PRODUCT
    images = {"boot": os.urandom(MiB // 2) + bytes(MiB // 2), "system": os.urandom(3 * MiB) + bytes(4096)}
    images["vbmeta"] = make_boot_metadata(
        {partition: (len(data), hashlib.sha256(data).hexdigest()) for partition, data in images.items()},
        ROLLBACK["B130"], bench.keys.oem, "B140")
    payload = generator.Payload()
    for partition, data in images.items():
        payload.add_full(partition, data)
    folder = tmp_path / "firmware"
    folder.mkdir()
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    generator.ota_zip(folder / f"{product}-B140-ota.zip", tmp_path / "payload.bin", properties, None,
                      f"ota-type=AB\npre-device={product}\npost-build=TSUF/{product}/{product}:14/X/B140:user/"
                      "release-keys\n")
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
