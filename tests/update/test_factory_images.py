"""`tsuf update FACTORY.zip`: the manufacturer's factory images take the same A/B update as a
signed package on the android phone (logical images into super through fastbootd, the switch,
confirmation through ADB), once the user said yes; android-info.txt's requirements are checked
against the handset before any write."""

import pytest

from flasher.update.session import Options
from flasher.update.updater import Updater
from flasher.virtual.usb_debugging import Debugging
from tests.support.factory import FACTORY_SIZES, factory_zip
from tests.support.handsets import RunningHandset, android_profile
from tests.support.packages import PRODUCT, make_keys
from tests.support.stations import bench_station


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path)


@pytest.fixture
def phone(tmp_path, keys):
    running = RunningHandset(tmp_path / "phone", android_profile(oem_public_key=keys.oem_public_pem), adb=True,
                             usb_debugging=Debugging.ALLOW)
    yield running
    running.stop()


def _update(tmp_path, keys, factory, phone):
    with Updater(factory, keys.trust_store, bench_station(tmp_path), unsigned_factory_images=True) as updater:
        updater.prepare()
        return updater.update([phone.address], options=Options(return_timeout=20))[0], updater.left_out


def _untouched(phone):
    return phone.partition("boot_b"), phone.partition("super")


def test_factory_images_update_the_inactive_slot_and_are_confirmed_through_adb(tmp_path, keys, phone):
    dynamic = phone.handset.family.dynamic.super
    slot_a = {name: dynamic.read_logical(f"{name}_a") for name in ("system", "vendor", "product")}
    factory = factory_zip(tmp_path / "factory.zip", oem_key=keys.oem,
                          extra={"system_other.img": b"o" * 8192, "userdata.img": b"u" * 8192})
    report, left_out = _update(tmp_path, keys, factory, phone)
    assert report.result == "SUCCESS" and "running B130 on slot b, confirmed through ADB" in report.message
    images = tmp_path / "factory-images"
    for name in ("system", "vendor", "product"):
        data = (images / f"{name}.img").read_bytes()
        assert dynamic.read_logical(f"{name}_b")[: len(data)] == data
        assert dynamic.read_logical(f"{name}_a") == slot_a[name]  # the other slot is never written
    assert phone.partition("boot_b")[: FACTORY_SIZES["boot"]] == (images / "boot.img").read_bytes()
    assert set(left_out) == {"system_other.img", "userdata.img"}
    checks = {check["check"]: (check["outcome"], check["detail"]) for check in report.checks}
    assert checks["signature"][0] == "not available" and "nobody signed" in checks["signature"][1]
    assert checks[f"requires product is {PRODUCT}"] == ("passed", PRODUCT)


def test_images_that_state_no_build_boot_but_are_not_confirmed_as_theirs(tmp_path, keys):
    phone = RunningHandset(tmp_path / "open-phone", android_profile(), adb=True, usb_debugging=Debugging.ALLOW)
    try:
        report, _ = _update(tmp_path, keys, factory_zip(tmp_path / "factory.zip"), phone)
    finally:
        phone.stop()
    assert report.result == "BOOTED_NOT_CONFIRMED", report.message
    assert "state no build" in report.message
    checks = {check["check"]: check["outcome"] for check in report.checks}
    assert checks["anti-rollback"] == "not available"


@pytest.mark.parametrize("android_info, words", [
    (f"require board={PRODUCT}\nrequire version-bootloader=TSUF-ABL-2.*\n",
     "version-bootloader is TSUF-ABL-2.*; the handset's is TSUF-ABL-1.0"),
    (f"require board={PRODUCT}\nreject version-baseband=MPSS.TSUF.1.0\n", "version-baseband is not MPSS.TSUF.1.0"),
    (f"require board={PRODUCT}\nrequire version-modem=M1\n", "the handset does not report version-modem"),
    (f"require board={PRODUCT}\nrequire partition-exists=vendor_dlkm\n", "partition vendor_dlkm exists"),
    ("require board=walleye|taimen\n", "product is walleye or taimen; the handset's is"),
    ("require version-bootloader=TSUF-ABL-1.0\n", "do not say which product"),
])
def test_a_requirement_the_handset_does_not_meet_refuses_before_any_write(tmp_path, keys, phone, android_info,
                                                                            words):
    before = _untouched(phone)
    report, _ = _update(tmp_path, keys, factory_zip(tmp_path / "factory.zip", oem_key=keys.oem,
                                                    android_info=android_info), phone)
    assert report.result == "INCOMPATIBLE_PRODUCT" and words in report.message, report.message
    assert _untouched(phone) == before


def test_a_requirement_for_another_product_does_not_apply(tmp_path, keys, phone):
    info = f"require board={PRODUCT}|walleye\nrequire-for-product:walleye version-bootloader=W1\n"
    report, _ = _update(tmp_path, keys, factory_zip(tmp_path / "factory.zip", oem_key=keys.oem,
                                                    android_info=info), phone)
    assert report.result == "SUCCESS", report.message
