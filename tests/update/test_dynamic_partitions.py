"""`tsuf update` of a signed package with super_empty.img on the android family: system,
vendor and product are written as logical partitions of the inactive slot inside super,
as the stock client writes them; refusals come before any write."""

import os
from pathlib import Path

import pytest

from flasher.lp import image
from flasher.package.build import PackageDescription, build_package
from flasher.update.session import Options
from flasher.update.updater import Updater
from flasher.virtual.handset import Mode
from flasher.virtual.usb_debugging import Debugging
from tests.support.handsets import RunningHandset, UsbHandsets, android_profile, android_super_empty
from tests.support.packages import PRODUCT, make_images, make_keys
from tests.support.stations import bench_station

MiB = 1 << 20
SIZES = {"boot": 1 * MiB, "system": 5 * MiB + 4096 + 17, "vendor": 2 * MiB, "product": 1 * MiB + 3}


@pytest.fixture
def bench(tmp_path):
    class Bench:
        keys = make_keys(tmp_path)
        station = bench_station(tmp_path)
        phone = RunningHandset(tmp_path / "phone", android_profile())

        def package(self, sizes=SIZES, super_empty=None, name="pkg", verified_boot=False):
            folder = make_images(tmp_path / name, sizes)
            (folder / "super_empty.img").write_bytes(super_empty or android_super_empty())
            output = tmp_path / f"{name}.zip"
            build_package(folder, PackageDescription(hw_revisions=("10000",), build="B130", rollback_index=5,
                                                     product=PRODUCT), [self.keys.signing], output,
                          oem_key=self.keys.oem if verified_boot else None)
            return output

        def update(self, package, **options):
            with Updater(package, self.keys.trust_store, self.station) as updater:
                updater.prepare()
                report = updater.update([self.phone.address], options=Options(return_timeout=20, **options))[0]
                return report, {name: path.read_bytes() for name, path in updater.images.items()}
    bench = Bench()
    yield bench
    bench.phone.stop()


def _super(handset, slot_number):
    with open(handset.storage.path("super"), "rb") as f:
        return image.read_super(f, slot_number)


def _extents_bytes(handset, metadata, name, size):
    raw = handset.storage.path("super").read_bytes()
    data = b"".join(raw[e.target_data * 512 : e.target_data * 512 + e.size] for e in metadata.partition(name).extents)
    return data[:size]


@pytest.fixture(params=["tcp", "usb"])
def link(request, bench, tmp_path):
    """The phone on TCP, or on emulated USB (where fastbootd enumerates with other ids)."""
    if request.param == "usb":
        bench.phone.stop()
        usb = UsbHandsets(tmp_path / "usb", partitions=android_profile().partitions, family="android")
        bench.phone = usb
        yield usb
        return
    yield bench.phone


def test_logical_images_land_in_super_on_the_inactive_slot(bench, link):
    handset = bench.phone.handset
    slot_a_before = {name: handset.family.dynamic.super.read_logical(f"{name}_a")
                     for name in ("system", "vendor", "product")}
    report, images = bench.update(bench.package())
    # no ADB: on USB the phone is still seen under its serial, over the network not at all
    assert report.result == ("BOOTED_NOT_CONFIRMED" if isinstance(link, UsbHandsets) else "NOT_CONFIRMED"), \
        report.message
    assert (report.from_slot, report.to_slot) == ("a", "b")
    assert handset.meta.active == "b"
    assert handset.storage.path("boot_b").read_bytes()[: len(images["boot"])] == images["boot"]
    for slot_number in range(2):  # both metadata slots, read by the codec from the stored file
        metadata = _super(handset, slot_number)
        for name in ("system", "vendor", "product"):
            data = images[name]
            assert metadata.partition(f"{name}_b").size == -(-len(data) // 4096) * 4096
            assert _extents_bytes(handset, metadata, f"{name}_b", len(data)) == data
    for name, before in slot_a_before.items():  # the slot that ran keeps its partitions
        assert handset.family.dynamic.super.read_logical(f"{name}_a") == before
    checks = {check["check"]: check["outcome"] for check in report.checks}
    assert checks["system_b in super"] == "passed"
    assert handset.wait_for_mode(Mode.ANDROID, 10)


@pytest.mark.parametrize("link", ["tcp", "usb"])
def test_a_phone_with_super_is_updated_boots_and_is_confirmed_as_its_user_allows(bench, tmp_path, link):
    """The whole phone flow: logical images into super through fastbootd, the switch, Android,
    then ADB once the user allows the station (over TCP), or only its serial on USB with
    debugging off: booted, not confirmed."""
    bench.phone.stop()
    profile = android_profile(oem_public_key=bench.keys.oem_public_pem)
    if link == "tcp":
        bench.phone = RunningHandset(tmp_path / "allowing", profile, adb=True, usb_debugging=Debugging.ALLOW)
    else:
        bench.phone = UsbHandsets(tmp_path / "usb-off", partitions=profile.partitions, family="android",
                                  oem_public_key=bench.keys.oem_public_pem)
    handset = bench.phone.handset
    report, images = bench.update(bench.package(verified_boot=True))
    if link == "tcp":
        assert report.result == "SUCCESS", report.message
        assert "confirmed through ADB" in report.message and handset.meta.b.successful
    else:
        assert report.result == "BOOTED_NOT_CONFIRMED", report.message
    assert handset.mode is Mode.ANDROID and handset.meta.active == "b"
    metadata = _super(handset, 1)
    for name in ("system", "vendor", "product"):
        assert _extents_bytes(handset, metadata, f"{name}_b", len(images[name])) == images[name]
    assert "system_b" in report.verification


def test_an_image_that_does_not_fit_super_is_refused_before_any_write(bench):
    handset = bench.phone.handset
    boot_b, super_before = handset.storage.path("boot_b").read_bytes(), handset.storage.path("super").read_bytes()
    report, _ = bench.update(bench.package(sizes={"boot": MiB, "system": 12 * MiB, "vendor": 4 * MiB}, name="big"))
    assert report.result == "INCOMPATIBLE_LAYOUT", report.message
    assert "vendor_b does not fit super" in report.message
    assert handset.storage.path("boot_b").read_bytes() == boot_b
    assert handset.storage.path("super").read_bytes() == super_before
    assert handset.meta.active == "a" and handset.mode is Mode.BOOTLOADER


def test_a_merging_snapshot_stops_the_update_before_any_write(bench):
    handset = bench.phone.handset
    handset.family.dynamic.snapshot_status = "merging"
    boot_b = handset.storage.path("boot_b").read_bytes()
    report, _ = bench.update(bench.package())
    assert report.result == "SNAPSHOT_MERGING", report.message
    assert "merging" in report.message
    assert handset.storage.path("boot_b").read_bytes() == boot_b and handset.meta.active == "a"


def test_a_waiting_snapshot_is_cancelled_and_the_update_goes_on(bench):
    handset = bench.phone.handset
    handset.family.dynamic.snapshot_status = "snapshotted"
    report, images = bench.update(bench.package())
    assert report.result == "NOT_CONFIRMED", report.message
    assert handset.family.dynamic.snapshot_status == "cancelled"
    assert _extents_bytes(handset, _super(handset, 1), "system_b", len(images["system"])) == images["system"]


def test_cow_partitions_an_interrupted_update_left_are_deleted_so_larger_images_fit(bench):
    """The images need 1 MiB more than slot b had: only super's free space has it, and the
    interrupted update's `-cow` partitions hold all of it until TSUF deletes them."""
    handset = bench.phone.handset
    handset.faults.snapshot_update = "snapshotted"
    report, images = bench.update(bench.package(sizes={"boot": MiB, "system": 9 * MiB, "vendor": 4 * MiB,
                                                       "product": 2 * MiB}, name="larger"))
    assert report.result == "NOT_CONFIRMED", report.message
    assert not [p.name for p in _super(handset, 1).partitions if p.name.endswith("-cow")]
    assert _extents_bytes(handset, _super(handset, 1), "system_b", len(images["system"])) == images["system"]
    log = Path(report.log_path).read_text()
    assert "deleting system_b-cow, left in super by an interrupted over-the-air update" in log


def test_a_damaged_super_empty_is_refused_when_the_package_is_built(bench, tmp_path):
    with pytest.raises(image.MetadataInvalid):
        bench.package(super_empty=b"gDla" + os.urandom(5000), name="bad")


def test_a_handset_that_does_not_come_back_in_fastbootd_is_named(bench, tmp_path):
    """A bench handset whose `reboot-fastboot` lands where `is-userspace` is still `no`."""
    bench.phone.stop()
    bench.phone = RunningHandset(tmp_path / "bench", android_profile(), family="reference")
    bench.phone.handset.faults.answers["is-userspace"] = "no"
    report, _ = bench.update(bench.package())
    assert report.result == "DEVICE_REFUSED", report.message
    assert "came back in its bootloader, not in fastbootd" in report.message


def test_a_cut_in_fastbootd_never_costs_the_slot_that_ran(bench):
    handset = bench.phone.handset
    slot_a = {name: handset.family.dynamic.super.read_logical(f"{name}_a") for name in ("system", "vendor")}
    handset.faults.drop_on_command = "flash:system_b"
    package = bench.package()
    cut, _ = bench.update(package)
    assert cut.result == "LINK_LOST", cut.message
    again, _ = bench.update(package)  # slot b is active but never booted: a holds the last good build
    assert again.result == "LAST_GOOD_SLOT", again.message
    for name, before in slot_a.items():
        assert handset.family.dynamic.super.read_logical(f"{name}_a") == before


def test_a_layout_for_a_larger_super_is_refused_before_any_write(bench):
    handset = bench.phone.handset
    boot_b = handset.storage.path("boot_b").read_bytes()
    report, _ = bench.update(bench.package(super_empty=android_super_empty(64 * MiB), name="other-phone"))
    assert report.result == "INCOMPATIBLE_LAYOUT", report.message
    assert "super_empty.img describes a super of 67108864 bytes" in report.message
    assert handset.storage.path("boot_b").read_bytes() == boot_b


def test_no_fetch_is_tried_on_a_logical_partition(bench, caplog):
    report, _ = bench.update(bench.package())
    assert report.result == "NOT_CONFIRMED", report.message
    fetched = [r.getMessage() for r in caplog.records if r.getMessage().startswith("-> fetch:")]
    assert fetched == ["-> fetch:boot_b:0x00000000:0x00001000"]  # ABL answers it has no fetch: never asked again
    assert report.verification["system_b"] == "not available on this handset (it cannot be read back)"
