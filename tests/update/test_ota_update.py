"""`tsuf update OTA.zip`: a manufacturer's full OTA (payload.bin), signed by an OEM certificate in
the trust store, updates the inactive slot of an A/B handset byte for byte as the payload encodes
it, and the report names the payload's build and signer; anything the payload's checks refuse
stops before a handset is touched."""

import hashlib
import os

import pytest

from flasher.package.bootmeta import make_boot_metadata
from flasher.payload.errors import PayloadSignatureError, UnverifiedPayload
from flasher.payload.ota_images import OtaNotSupported
from flasher.virtual.usb_debugging import Debugging
from flasher.payload.ota_metadata import OtaMetadataMissing
from flasher.update.session import Options
from flasher.update.updater import Updater
from tests.payload import generator
from tests.support.handsets import RunningHandset, android_profile, small_profile
from tests.support.packages import PRODUCT, make_keys
from tests.support.stations import bench_station

MiB = 1 << 20
LOGICAL = ("system", "vendor", "product")
FINGERPRINT = f"TSUF/{PRODUCT}/{PRODUCT}:14/B130/B130:user/release-keys"
METADATA = f"ota-type=AB\npre-device={PRODUCT}\npost-build={FINGERPRINT}\n"


@pytest.fixture(scope="module")
def oem_key():
    return generator.rsa_key()


@pytest.fixture
def bench(tmp_path, oem_key):
    keys = make_keys(tmp_path)
    certificate = tmp_path / "otacert.pem"
    certificate.write_bytes(generator.certificate_pem(oem_key))

    class Bench:
        station = bench_station(tmp_path)
        handset = RunningHandset(tmp_path / "handset", small_profile(oem_public_key=keys.oem_public_pem),
                                 family="reference")

        def boot_metadata(self, images, build):
            return make_boot_metadata(
                {partition: (len(data), hashlib.sha256(data).hexdigest()) for partition, data in images.items()},
                7, keys.oem, build)

        def ota(self, name="ota.zip", *, key=oem_key, metadata=METADATA, otacert=False, build="B130"):
            images = {"boot": os.urandom(MiB // 2) + bytes(MiB // 2), "system": os.urandom(3 * MiB) + bytes(4096)}
            images["vbmeta"] = self.boot_metadata(images, build)
            metadata = metadata.replace("B130", build)
            payload = generator.Payload()
            for partition, data in images.items():
                payload.add_full(partition, data)
            properties = payload.write(tmp_path / f"{name}.bin", key)
            return generator.ota_zip(tmp_path / name, tmp_path / f"{name}.bin", properties,
                                     generator.certificate_pem(key) if otacert else None, metadata), images

        def update(self, ota, **kwargs):
            with Updater(ota, keys.trust_store, self.station, **kwargs) as updater:
                updater.prepare()
                return updater.update([self.handset.address], options=Options(return_timeout=20))[0]
    bench = Bench()
    bench.trust_store = keys.trust_store
    keys.trust_store.import_oem_certificate(certificate)
    yield bench
    bench.handset.stop()


def _stored(handset, stem: str, size: int) -> bytes:
    return b"".join(handset.storage.read(stem, 0, size, 1 << 20))


def test_a_full_ota_updates_the_inactive_slot_and_names_its_build_and_signer(bench):
    ota, images = bench.ota()
    report = bench.update(ota)
    assert report.result == "SUCCESS" and report.message == "running B130 on slot b", report.message
    assert report.to_build == "B130" and report.package_id == f"ota-{PRODUCT}-B130"
    handset = bench.handset.handset
    for partition, data in images.items():
        assert _stored(handset, f"{partition}_b", len(data)) == data
    checks = {check["check"]: (check["outcome"], check["detail"]) for check in report.checks}
    assert checks["signature"][0] == "passed" and "signed by" in checks["signature"][1]
    assert checks["anti-rollback"][0] == "passed" and checks["anti-rollback"][1].startswith("7 >=")
    assert set(report.verification.values()) == {"read back"}


def test_an_ota_by_a_key_the_trust_store_does_not_hold_is_refused_unless_its_otacert_is_trusted(bench):
    stranger = generator.rsa_key()
    ota, _ = bench.ota("stranger.zip", key=stranger, otacert=True)
    before = _stored(bench.handset.handset, "boot_b", MiB)
    with pytest.raises(PayloadSignatureError):
        bench.update(ota)
    assert _stored(bench.handset.handset, "boot_b", MiB) == before
    assert bench.update(ota, use_otacert=True).result == "SUCCESS"


def test_an_ota_that_names_no_product_or_another_product_is_refused(bench):
    ota, _ = bench.ota("nameless.zip", metadata="ota-type=AB\n")
    with pytest.raises(OtaMetadataMissing):
        bench.update(ota)
    other, _ = bench.ota("other.zip", metadata="ota-type=AB\npre-device=walleye\n")
    report = bench.update(other)
    assert report.result == "INCOMPATIBLE_PRODUCT" and "walleye" in report.message


def test_an_unsigned_ota_is_not_available_and_so_refused(bench, tmp_path):
    payload = generator.Payload()
    payload.add_full("boot", os.urandom(8192))
    properties = payload.write(tmp_path / "unsigned.bin", None)
    ota = generator.ota_zip(tmp_path / "unsigned.zip", tmp_path / "unsigned.bin", properties, None, METADATA)
    with pytest.raises(UnverifiedPayload):
        bench.update(ota)


def test_an_incremental_ota_applies_to_the_build_the_handset_runs(bench, tmp_path, oem_key):
    """B120 arrives by a full OTA; the incremental B120 -> B130 OTA then takes each source from
    the handset (read back and checked against old_partition_info) and writes the other slot."""
    full, old = bench.ota("b120.zip", build="B120")
    assert bench.update(full).result == "SUCCESS"
    new = {"boot": old["boot"][: MiB // 2] + os.urandom(MiB // 2), "system": old["system"][:-8192] + os.urandom(8192)}
    new["vbmeta"] = bench.boot_metadata(new, "B130")
    payload = generator.Payload()
    payload.add_incremental("boot", old["boot"], new["boot"])
    payload.add_incremental("system", old["system"], new["system"])
    payload.add_full("vbmeta", new["vbmeta"])
    properties = payload.write(tmp_path / "inc.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "inc.zip", tmp_path / "inc.bin", properties, None,
                            METADATA + "pre-build-incremental=B120\n")
    report = bench.update(ota)
    assert report.result == "SUCCESS" and report.message == "running B130 on slot a", report.message
    assert report.package_type == "delta"
    for partition, data in new.items():
        assert _stored(bench.handset.handset, f"{partition}_a", len(data)) == data
    again = bench.update(ota)  # now on B130: the OTA does not apply
    assert again.result == "DELTA_SOURCE_MISMATCH", again.message


def test_an_ota_whose_partitions_live_inside_super_writes_them_through_fastbootd(tmp_path, oem_key):
    """The android phone: boot and vbmeta from the bootloader, system, vendor and product (the payload's
    dynamic partition group) resized within the phone's group and flashed in fastbootd; then
    confirmed through ADB."""
    keys = make_keys(tmp_path)
    keys.trust_store.import_oem_certificate(_certificate(tmp_path, oem_key))
    phone = RunningHandset(tmp_path / "phone", android_profile(oem_public_key=keys.oem_public_pem), adb=True,
                           usb_debugging=Debugging.ALLOW)
    dynamic = phone.handset.family.dynamic.super
    slot_a = {name: dynamic.read_logical(f"{name}_a") for name in LOGICAL}
    images = {"boot": os.urandom(MiB), "system": os.urandom(5 * MiB) + bytes(4096), "vendor": os.urandom(2 * MiB),
              "product": os.urandom(MiB)}
    images["vbmeta"] = make_boot_metadata({n: (len(d), hashlib.sha256(d).hexdigest()) for n, d in images.items()},
                                          7, keys.oem, "B130")
    payload = generator.Payload()
    for partition, data in images.items():
        payload.add_full(partition, data)
    group = generator.f_bytes(1, b"qti_dynamic_partitions") + generator.f_varint(2, 15 * MiB) + \
        b"".join(generator.f_bytes(3, name.encode()) for name in LOGICAL)
    payload.dynamic_partition_metadata = generator.f_bytes(1, group)
    properties = payload.write(tmp_path / "phone.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "phone.zip", tmp_path / "phone.bin", properties, None, METADATA)
    try:
        with Updater(ota, keys.trust_store, bench_station(tmp_path)) as updater:
            updater.prepare()
            report = updater.update([phone.address], options=Options(return_timeout=20))[0]
    finally:
        phone.stop()
    assert report.result == "SUCCESS" and "confirmed through ADB" in report.message, report.message
    for name in LOGICAL:
        assert dynamic.read_logical(f"{name}_b")[: len(images[name])] == images[name]
        assert dynamic.read_logical(f"{name}_a") == slot_a[name]  # the slot that ran keeps its build
    checks = {check["check"]: check["outcome"] for check in report.checks}
    assert checks["qti_dynamic_partitions_b in super"] == "passed" and checks["super size"] == "not available"


def test_an_ota_too_large_for_its_partition_group_is_refused_before_any_write(bench, tmp_path, oem_key):
    payload = generator.Payload()
    payload.add_full("system", os.urandom(2 * MiB))
    group = generator.f_bytes(1, b"main") + generator.f_varint(2, MiB) + generator.f_bytes(3, b"system")
    payload.dynamic_partition_metadata = generator.f_bytes(1, group)
    properties = payload.write(tmp_path / "big.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "big.zip", tmp_path / "big.bin", properties, None, METADATA)
    before = _stored(bench.handset.handset, "system_b", MiB)
    report = bench.update(ota)
    assert report.result == "INCOMPATIBLE_LAYOUT" and "group main need" in report.message, report.message
    assert _stored(bench.handset.handset, "system_b", MiB) == before


def _certificate(tmp_path, key):
    path = tmp_path / "oem-cert.pem"
    path.write_bytes(generator.certificate_pem(key))
    return path


def test_a_payload_partition_no_handset_could_have_is_refused_by_name(bench, tmp_path, oem_key):
    payload = generator.Payload()
    payload.add_full("Boot.Image", os.urandom(8192))
    properties = payload.write(tmp_path / "odd.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "odd.zip", tmp_path / "odd.bin", properties, None, METADATA)
    with pytest.raises(OtaNotSupported, match="not a partition name"):
        bench.update(ota)
