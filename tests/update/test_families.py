"""`tsuf update` against every device family, over TCP, UDP and emulated USB: it completes and
the handset ends on the new build, or it refuses before the first write with the handset's
real limit; never a variable only TSUF's own handset invents."""

import pytest

from flasher.update.events import Progress
from flasher.update.session import Options
from flasher.update.updater import Updater
from flasher.virtual.handset import Mode
from flasher.virtual.udp_server import HandsetUdpServer
from tests.support.handsets import RunningHandset, UsbHandsets, small_profile
from tests.support.packages import PRODUCT, make_keys, make_package
from tests.support.stations import bench_station

LINKS = ("tcp", "udp", "usb")
SIZES = {"boot": 1 << 20, "system": 3 << 20}


@pytest.fixture
def bench(tmp_path):
    class Bench:
        keys = make_keys(tmp_path)
        station = bench_station(tmp_path)
        package = make_package(tmp_path, keys, sizes=SIZES)
        stops: list = []

        def handset(self, family: str, link: str):
            """(handset, address) of a family on a link."""
            if link == "usb":
                usb = UsbHandsets(tmp_path / f"usb-{family}", family=family)
                self.stops.append(usb.stop)
                return usb.handset, usb.address
            running = RunningHandset(tmp_path / f"{family}-{link}", small_profile(), family=family)
            self.stops.append(running.stop)
            if link == "tcp":
                return running.handset, running.address
            udp = HandsetUdpServer(running.handset).start()
            self.stops.insert(0, udp.stop)
            return running.handset, udp.address

        def update(self, address: str, emit=lambda event: None, **options):
            with Updater(self.package, self.keys.trust_store, self.station) as updater:
                updater.prepare()
                report = updater.update([address], options=Options(**{"return_timeout": 20, **options}),
                                        emit=emit)[0]
                return report, {name: path.read_bytes() for name, path in updater.images.items()}
    bench = Bench()
    yield bench
    for stop in bench.stops:
        stop()


def _stored(handset, stem: str, size: int) -> bytes:
    return b"".join(handset.storage.read(stem, 0, size, 1 << 20))


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("family", ["qualcomm", "fastbootd"])
def test_a_phone_bootloader_takes_the_update_into_the_other_slot(bench, family, link):
    """USB debugging is off: over USB the phone is seen booted under its serial; over the network
    nothing answers (confirmation through ADB is in test_android_confirmation.py)."""
    handset, address = bench.handset(family, link)
    report, images = bench.update(address, return_timeout=4)
    assert report.result == ("BOOTED_NOT_CONFIRMED" if link == "usb" else "NOT_CONFIRMED"), report.message
    assert (report.from_slot, report.to_slot, report.path) == ("a", "b", "fastboot-ab")
    assert handset.meta.active == "b"
    for partition, data in images.items():
        assert _stored(handset, f"{partition}_b", len(data)) == data
    assert set(report.verification.values()) == {"not available on this handset (it cannot be read back)"}
    assert not [command for command in handset.refused if command.startswith("fetch")]  # never asked in vain
    outcomes = {check["check"]: check["outcome"] for check in report.checks}
    assert outcomes["anti-rollback"] == "not available" and outcomes["product"] == "passed"
    assert handset.wait_for_mode(Mode.ANDROID, 10)  # it boots Android and stays there


def test_progress_counts_the_image_bytes_written_when_the_link_carries_fewer(bench):
    """Over UDP an image goes sparse (fewer bytes than it writes): the bar still ends each image full."""
    _, address = bench.handset("qualcomm", "udp")
    progress = []
    report, images = bench.update(address, emit=lambda e: progress.append(e) if isinstance(e, Progress) else None,
                                  return_timeout=2)
    assert report.bytes_sent == sum(len(data) for data in images.values())
    dones = [event.done for event in progress]
    assert dones == sorted(dones) and progress[-1].done == progress[-1].total == report.bytes_sent
    boot = len(images["boot"])
    assert dones.count(boot) >= 2  # the write's own progress reached the image's end, then its verification


@pytest.mark.parametrize("link", LINKS)
def test_uboot_without_slots_or_read_back_refuses_unless_told_to_go_without_a_backup(bench, link):
    handset, address = bench.handset("uboot", link)
    before = _stored(handset, "boot", 1 << 20)
    refused, _ = bench.update(address)
    assert refused.result == "NO_BACKUP" and "cannot be read back" in refused.message, refused.message
    assert _stored(handset, "boot", 1 << 20) == before  # nothing written
    report, images = bench.update(address, force_without_backup=True)
    assert report.result == "NOT_CONFIRMED" and report.path == "fastboot-in-place", report.message
    for partition, data in images.items():
        assert _stored(handset, partition, len(data)) == data
    assert not [command for command in handset.refused if command.startswith("fetch")]


@pytest.mark.parametrize("link", LINKS)
def test_barebox_does_not_say_what_it_is_so_nothing_is_written(bench, link):
    handset, address = bench.handset("barebox", link)
    before = _stored(handset, "boot", 1 << 20)
    report, _ = bench.update(address, force_without_backup=True)
    assert report.result == "INCOMPATIBLE_PRODUCT" and report.phase == "preflight", report.message
    assert f"does not report its product; the package is for {PRODUCT}" in report.message
    assert _stored(handset, "boot", 1 << 20) == before


@pytest.mark.parametrize("family", ["uboot", "barebox", "fastbootd", "qualcomm"])
def test_flash_writes_an_image_larger_than_two_million_bytes_on_every_family(bench, family, tmp_path):
    """barebox says `partition-size:system` as `00600000` (hex without 0x): read as decimal that is
    600,000 bytes, and every image larger was refused."""
    import os

    from flasher.fastboot import FastbootDevice
    handset, address = bench.handset(family, "tcp")
    image = tmp_path / "system.img"
    data = os.urandom(3 << 20)
    image.write_bytes(data)
    with FastbootDevice.open(address) as device:
        target = device.resolve_partition("system")
        device.flash(target, image)
    assert _stored(handset, target, len(data)) == data
