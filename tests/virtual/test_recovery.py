"""The virtual handset in recovery and sideload mode: ADB on TCP and USB, OEM checks, installs."""

import dataclasses

import pytest

from flasher.adb.client import AdbDevice
from flasher.adb.connection import AdbConnection, Role
from flasher.adb.errors import SideloadInterrupted, SideloadRefused, SideloadUnavailable
from flasher.adb.events import StreamClosed, StreamData, StreamOpened
from flasher.adb.link import AdbLink
from flasher.adb.sideload import sideload
from flasher.adb.transport import open_adb_transport
from flasher.fastboot import FastbootDevice
from flasher.discovery.waiting import wait_for_adb, wait_for_fastboot
from flasher.package.archive import PackageReader
from flasher.transport.errors import HandshakeFailed, LinkClosed
from flasher.transport.usb import find_fastboot_devices
from flasher.virtual.emulator import Emulator
from flasher.virtual.handset import Mode
from flasher.virtual.profile import KiB, MiB, Partition
from tests.support.handsets import FAST_TIMING, RunningHandset, UsbHandsets, small_profile
from tests.support.packages import make_keys, make_ota_package, make_package

WAIT = 5.0


@pytest.fixture
def keyring(tmp_path):
    return make_keys(tmp_path)


@pytest.fixture
def handset(tmp_path, keyring):
    """A handset with the OEM key and factory build B120 on slot a, powered on in sideload mode."""
    running = RunningHandset(tmp_path / "handset", small_profile(oem_public_key=keyring.oem_public_pem), adb=True)
    factory_flash(running.handset, make_package(tmp_path, keyring, build="B120", rollback_index=1), keyring, tmp_path)
    running.handset._set_mode(Mode.SIDELOAD)  # the user chose "Apply update from ADB"
    yield running
    running.stop()


def factory_flash(handset, package, keyring, tmp_path, slot="a"):
    with PackageReader(package, keyring.trust_store) as reader:
        images = reader.extract_all_verified(tmp_path)
    assert handset.factory_flash(images, slot) == (slot if handset.profile.slot_count == 2 else "")


def booted_build(handset) -> str:
    """Reboot to the OS and say which build came up."""
    assert handset.wait_for_mode(Mode.ANDROID, WAIT), handset.boot_log
    return handset.slot_builds[handset.running_slot]


def test_reboot_recovery_stays_in_recovery_and_answers_adb_beside_fastboot(tmp_path):
    running = RunningHandset(tmp_path / "h", adb=True)
    try:
        assert running.adb_address.rsplit(":", 1)[1] == str(running.server.port + 1)
        with FastbootDevice.open(running.address) as device:
            device.reboot("recovery")
        with wait_for_adb(running.adb_address, "recovery", timeout=WAIT) as adb:
            assert adb.product == "tsuf_zte_ab"
        assert not running.handset.wait_for_mode(Mode.BOOTLOADER, 0.5)  # it stays until told
        with pytest.raises(HandshakeFailed):
            FastbootDevice.open(running.address).close()  # fastboot is not running in recovery
    finally:
        running.stop()


def test_adb_reboots_to_sideload_then_to_the_bootloader(tmp_path):
    running = RunningHandset(tmp_path / "h", adb=True, start_mode=Mode.RECOVERY)
    try:
        wait_for_adb(running.adb_address, "recovery", timeout=WAIT).reboot_to_sideload()
        with wait_for_adb(running.adb_address, "sideload", timeout=WAIT) as adb:
            adb.reboot("bootloader")
        with wait_for_fastboot(running.address, timeout=WAIT) as device:
            assert device.getvar("serialno") == "VH000001"
        with pytest.raises(LinkClosed):
            AdbDevice.open(running.adb_address, timeout=0.5)  # no ADB in the bootloader
    finally:
        running.stop()


def test_an_oem_signed_package_goes_to_the_inactive_slot_and_boots(handset, keyring, tmp_path):
    package = make_ota_package(tmp_path, keyring, build="B130", rollback_index=2)
    progress = []
    with wait_for_adb(handset.adb_address, "sideload", timeout=WAIT) as adb:
        result = sideload(adb, package, progress=lambda done, total: progress.append((done, total)))
    assert result.blocks_served == result.blocks_total == progress[-1][0]
    assert progress[0] == (1, result.blocks_total)
    assert booted_build(handset.handset) == "B130"
    assert handset.handset.meta.active == "b"
    assert "recovery: installed B130; rebooting" in handset.handset.boot_log
    assert not (handset.handset.root / "sideload").exists()
    with wait_for_fastboot(handset.address, timeout=WAIT) as device:  # back in the bootloader
        assert device.getvar("build") == "B130"
        assert device.getvar("rollback-index") == "2"


@pytest.mark.parametrize("variant, reason", [
    ("another key", "signed only by keys not in the trust store"),
    ("fastboot package", "installed with fastboot, not through recovery"),
    ("another product", "package is for tsuf_other"),
    ("older build", "rollback index 0 is below the stored 1"),
])
def test_a_package_recovery_must_refuse_is_refused_and_the_old_build_boots(handset, keyring, tmp_path, variant,
                                                                          reason):
    options = {"another key": {"signer": keyring.signing}, "fastboot package": {"install": "fastboot"},
               "another product": {"product": "tsuf_other"}, "older build": {"rollback_index": 0}}[variant]
    package = make_ota_package(tmp_path, keyring, **options)
    before = handset.partition("system_b")
    with wait_for_adb(handset.adb_address, "sideload", timeout=WAIT) as adb:
        with pytest.raises(SideloadRefused):
            sideload(adb, package)
    assert any(reason in line for line in handset.handset.boot_log), handset.handset.boot_log
    assert handset.partition("system_b") == before
    assert handset.handset.mode is Mode.SIDELOAD  # ready for another attempt
    wait_for_adb(handset.adb_address, "sideload", timeout=WAIT).reboot()
    assert booted_build(handset.handset) == "B120"


def test_a_cut_mid_sideload_leaves_the_old_build_and_the_next_attempt_starts_clean(handset, keyring, tmp_path):
    package = make_ota_package(tmp_path, keyring, build="B130", rollback_index=2)
    adb = wait_for_adb(handset.adb_address, "sideload", timeout=WAIT)

    def pull_the_cable(done, total):
        if done == 10:
            adb.close()
    with pytest.raises(SideloadInterrupted) as caught:
        sideload(adb, package, progress=pull_the_cable)
    assert not caught.value.served_all
    assert handset.handset.mode is Mode.SIDELOAD
    progress = []
    with wait_for_adb(handset.adb_address, "sideload", timeout=WAIT) as again:
        result = sideload(again, package, progress=lambda done, total: progress.append(done))
    assert progress[:3] == [1, 2, 3]  # from the start, not from block 10
    assert result.requests == result.blocks_total  # each block once
    assert booted_build(handset.handset) == "B130"


def test_a_link_the_handset_drops_leaves_it_booting_its_old_build(handset, keyring, tmp_path):
    handset.handset.faults.drop_after_bytes = 300 * KiB
    with wait_for_adb(handset.adb_address, "sideload", timeout=WAIT) as adb:
        with pytest.raises(SideloadInterrupted):
            sideload(adb, make_ota_package(tmp_path, keyring, build="B130", rollback_index=2))
    assert any("nothing installed" in line for line in handset.handset.boot_log)
    wait_for_adb(handset.adb_address, "sideload", timeout=WAIT).reboot()
    assert booted_build(handset.handset) == "B120"
    assert handset.handset.meta.active == "a"


def test_recovery_without_sideload_mode_refuses_the_package(handset, keyring, tmp_path):
    handset.handset._set_mode(Mode.RECOVERY)
    with wait_for_adb(handset.adb_address, "recovery", timeout=WAIT) as adb:
        with pytest.raises(SideloadUnavailable):
            sideload(adb, make_ota_package(tmp_path, keyring))


def _host(address: str) -> AdbLink:
    link = AdbLink(open_adb_transport(address, timeout=2), AdbConnection(Role.HOST, "host::"))
    link.connection.connect()
    link.next_event(WAIT)
    return link


@pytest.mark.parametrize("service", ["sideload-host:0:65536", "sideload-host:100:1000", "sideload-host:x:65536",
                                     "sideload-host:100", "sideload:1000", "shell:ls", "reboot:nowhere"])
def test_services_recovery_does_not_offer_are_refused(handset, service):
    with _host(handset.adb_address) as link:
        stream = link.connection.open(service)
        event = link.next_event(WAIT)
        assert event.local_id == stream and not isinstance(event, StreamOpened)
    assert handset.handset.mode is Mode.SIDELOAD


def test_a_host_sending_more_than_the_block_asked_gets_the_sideload_closed(handset):
    with _host(handset.adb_address) as link:
        stream = link.connection.open("sideload-host:200000:65536")
        assert isinstance(link.next_event(WAIT), StreamOpened)
        assert link.next_event(WAIT) == StreamData(stream, b"00000003")  # the zip's end first: 3392 bytes
        link.connection.send(stream, b"x" * 4000)
        assert link.next_event(WAIT) == StreamClosed(stream)
    assert any("sent 4000 bytes for block 3 of 3392" in line for line in handset.handset.boot_log)
    assert handset.handset.mode is Mode.SIDELOAD


def test_a_package_that_is_not_a_zip_is_refused_after_its_last_block(handset, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(bytes(300_000))
    progress = []
    with wait_for_adb(handset.adb_address, "sideload", timeout=WAIT) as adb:
        with pytest.raises(SideloadRefused):
            sideload(adb, junk, progress=lambda done, total: progress.append(done))
    assert progress == [1]
    assert any("its end record is missing" in line for line in handset.handset.boot_log)


def test_a_host_that_starts_over_mid_sideload_gets_a_clean_start(handset, keyring, tmp_path):
    package = make_ota_package(tmp_path, keyring, build="B130", rollback_index=2)
    with _host(handset.adb_address) as link:
        link.connection.open(f"sideload-host:{package.stat().st_size}:65536")
        assert isinstance(link.next_event(WAIT), StreamOpened)
        assert isinstance(link.next_event(WAIT), StreamData)  # the first request
        restart = AdbConnection(Role.HOST, "host::")  # the host's adb server restarted on the same link
        restart.connect()
        for piece in restart.data_to_send():
            link.transport.write(piece, WAIT)
        link.connection = restart
        assert link.next_event(WAIT).state == "sideload"
        assert any("started a new connection" in line for line in handset.handset.boot_log)
        assert sideload(AdbDevice(link, restart.peer), package).blocks_served > 0
    assert booted_build(handset.handset) == "B130"


def test_over_usb_the_handset_comes_back_with_its_adb_interface(tmp_path, keyring):
    usb = UsbHandsets(tmp_path / "usb", count=1, oem_public_key=keyring.oem_public_pem)
    try:
        factory_flash(usb.handset, make_package(tmp_path, keyring, build="B120", rollback_index=1), keyring,
                      tmp_path)
        with FastbootDevice.open(usb.address) as device:
            device.reboot("recovery")
        wait_for_adb(usb.address, "recovery", timeout=WAIT).reboot_to_sideload()
        with wait_for_adb(usb.address, "sideload", timeout=WAIT) as adb:
            assert usb.address not in {f"usb:{info.serial}" for info in find_fastboot_devices()}
            sideload(adb, make_ota_package(tmp_path, keyring, build="B130", rollback_index=2))
        assert booted_build(usb.handset) == "B130"
        with wait_for_fastboot(usb.address, timeout=WAIT) as device:
            assert device.getvar("build") == "B130"
    finally:
        usb.stop()


def test_over_usb_a_host_that_lets_go_mid_sideload_leaves_the_old_build(tmp_path, keyring):
    usb = UsbHandsets(tmp_path / "usb", count=1, oem_public_key=keyring.oem_public_pem)
    try:
        factory_flash(usb.handset, make_package(tmp_path, keyring, build="B120", rollback_index=1), keyring,
                      tmp_path)
        with FastbootDevice.open(usb.address) as device:
            device.reboot("recovery")
        wait_for_adb(usb.address, "recovery", timeout=WAIT).reboot_to_sideload()
        package = make_ota_package(tmp_path, keyring, build="B130", rollback_index=2)
        adb = wait_for_adb(usb.address, "sideload", timeout=WAIT)
        with pytest.raises(SideloadInterrupted):
            sideload(adb, package, progress=lambda done, total: done == 5 and adb.close())
        assert usb.handset.meta.active == "a" and usb.handset.mode is Mode.SIDELOAD
        with wait_for_adb(usb.address, "sideload", timeout=WAIT) as again:  # the same enumeration, a new host
            result = sideload(again, package)
        assert result.requests == result.blocks_total
        assert booted_build(usb.handset) == "B130"
    finally:
        usb.stop()


def _single_slot_profile(keyring):
    partitions = (Partition("boot", 2 * MiB, False), Partition("vbmeta", 64 * KiB, False),
                  Partition("system", 6 * MiB, False), Partition("userdata", 4 * MiB, False))
    return dataclasses.replace(small_profile(oem_public_key=keyring.oem_public_pem), slot_count=0,
                               partitions=partitions)


def test_a_handset_without_slots_installs_in_place(tmp_path, keyring):
    running = RunningHandset(tmp_path / "h", _single_slot_profile(keyring), adb=True, start_mode=Mode.SIDELOAD)
    try:
        with wait_for_adb(running.adb_address, "sideload", timeout=WAIT) as adb:
            sideload(adb, make_ota_package(tmp_path, keyring, build="B130"))
        assert running.handset.wait_for_mode(Mode.ANDROID, WAIT)
        assert running.handset.slot_builds[""] == "B130"
    finally:
        running.stop()


def test_a_failed_in_place_install_restores_what_it_overwrote(tmp_path, keyring):
    running = RunningHandset(tmp_path / "h", _single_slot_profile(keyring), adb=True, start_mode=Mode.SIDELOAD)
    try:
        with wait_for_adb(running.adb_address, "sideload", timeout=WAIT) as adb:
            sideload(adb, make_ota_package(tmp_path, keyring, build="B130", seed=1))
        assert running.handset.wait_for_mode(Mode.BOOTLOADER, WAIT)
        before = {stem: running.partition(stem) for stem in ("boot", "system", "vbmeta")}
        running.handset._set_mode(Mode.SIDELOAD)
        running.handset.faults.discard_flash.add("system")  # storage that loses the write
        newer = make_ota_package(tmp_path, keyring, build="B131", seed=2)
        with wait_for_adb(running.adb_address, "sideload", timeout=WAIT) as adb:
            with pytest.raises(SideloadRefused):
                sideload(adb, newer)
        assert any("system reads back different" in line for line in running.handset.boot_log)
        assert {stem: running.partition(stem) for stem in before} == before
    finally:
        running.stop()


def test_the_emulator_serves_adb_beside_each_handsets_fastboot(tmp_path):
    with Emulator(tmp_path / "e", count=2, adb=True, start_mode=Mode.SIDELOAD, profile_for=small_profile,
                  timing=FAST_TIMING) as emulator:
        for fastboot, adb in zip(emulator.addresses, emulator.adb_addresses):
            assert int(adb.rsplit(":", 1)[1]) == int(fastboot.rsplit(":", 1)[1]) + 1
            with wait_for_adb(adb, "sideload", timeout=WAIT) as device:
                assert device.state == "sideload"
