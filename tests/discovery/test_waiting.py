"""Waiting for one handset by serial number: across a reboot, across links and modes, to a deadline."""

import socket
import time

import pytest

from flasher.fastboot import FastbootDevice
from flasher.discovery import waiting
from flasher.discovery.found import RECOVERY_MODES, FoundDevice
from flasher.discovery.network_source import NetworkSource
from flasher.discovery.scanner import Scanner
from flasher.discovery.usb_source import UsbSource
from flasher.discovery.waiting import HandsetNotFound, poll_until, wait_for_adb, wait_for_fastboot, wait_for_handset
from flasher.transport.usb import UsbTransport
from flasher.virtual.handset import Mode
from tests.support.adb_peer import ScriptedAdbDevice

from .conftest import free_port


def test_a_rebooted_handset_is_found_again_at_its_new_usb_address(bench):
    handset = bench.usb("VHUSB001")
    before = bench.bus.address_of("VHUSB001")
    with FastbootDevice(UsbTransport.open("VHUSB001", backend=bench.bus)) as device:
        device.reboot()  # through Android and back to the bootloader
    found = wait_for_handset("VHUSB001", timeout=15, scanner=Scanner([UsbSource(bench.bus)]), poll=0.05)
    assert (found.address, found.mode) == ("usb:VHUSB001", "fastboot")
    assert bench.bus.address_of("VHUSB001") not in (None, before)
    assert handset.boot_log  # it did go through a boot


def test_the_handset_may_come_back_on_another_link(bench):
    bench.usb("VHUSB001")
    tcp = bench.tcp("VHTCP001")
    scanner = Scanner([UsbSource(bench.bus), NetworkSource([tcp.address])])
    assert wait_for_handset("VHTCP001", timeout=15, scanner=scanner).address == tcp.address


def test_a_fastboot_wait_follows_the_serial_number_to_another_link(bench):
    tcp = bench.tcp("VHTCP001")
    moved = []
    with wait_for_fastboot(f"tcp:127.0.0.1:{free_port()}", serialno="VHTCP001", timeout=15,
                           scanner=Scanner([NetworkSource([tcp.address])]), on_moved=moved.append) as device:
        assert device.getvar("serialno") == "VHTCP001"
    assert moved == [tcp.address]


def test_a_fastboot_wait_says_when_the_handset_is_in_recovery_instead(bench):
    bench.usb("VHUSB001", Mode.RECOVERY)
    with pytest.raises(HandsetNotFound) as caught:
        wait_for_fastboot("usb:VHUSB001", serialno="VHUSB001", timeout=0.5,
                          scanner=Scanner([UsbSource(bench.bus)]), poll=0.05)
    assert ("handset VHUSB001 did not appear in fastboot mode within 0.5 s: it is in recovery (ADB) at "
            "usb:VHUSB001") in str(caught.value)
    assert "Reboot to bootloader" in caught.value.hint


def test_waiting_for_a_handset_that_never_returns_gives_up_at_the_deadline(running_handset):
    running_handset.stop()
    started = time.monotonic()
    with pytest.raises(HandsetNotFound, match="did not appear in fastboot mode within 0.5 s") as caught:
        wait_for_fastboot(running_handset.address, timeout=0.5)
    assert time.monotonic() - started >= 0.5
    assert "another mode" in caught.value.hint


def test_a_fastboot_wait_refuses_another_handset_at_the_address(running_handset):
    with pytest.raises(HandsetNotFound, match="answers with another serial number than VHOTHER"):
        wait_for_fastboot(running_handset.address, serialno="VHOTHER", timeout=0.5)


class _Seen:
    def __init__(self, devices):
        self.devices = devices

    def scan(self):
        return self.devices


def test_timeout_names_what_was_seen_instead():
    download = FoundDevice("serial:/dev/ttyUSB0", "serial", "download", "S1")
    other = FoundDevice("usb:S2", "usb", "fastboot", "S2")
    started = time.monotonic()
    with pytest.raises(HandsetNotFound) as caught:
        wait_for_handset("S1", timeout=0.3, scanner=_Seen([download, other]), poll=0.05)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "S1 did not appear in fastboot mode within 0.3 s" in message
    assert "serial:/dev/ttyUSB0 (download, serial S1)" in message
    assert "usb:S2 (fastboot, serial S2)" in message
    assert "tsuf devices" in caught.value.hint


def test_timeout_with_nothing_in_reach():
    with pytest.raises(HandsetNotFound, match="seen instead: no handsets at all"):
        wait_for_handset("S1", timeout=0.1, scanner=_Seen([]), poll=0.05)


def test_a_wait_into_recovery_finds_the_handset_there(bench):
    bench.usb("VHUSB001", Mode.RECOVERY)
    found = wait_for_handset("VHUSB001", timeout=15, scanner=Scanner([UsbSource(bench.bus)]), modes=RECOVERY_MODES)
    assert (found.address, found.mode) == ("usb:VHUSB001", "recovery")


def test_an_adb_wait_says_what_answered_instead():
    def script(device):
        device.event()
        time.sleep(0.3)
    with ScriptedAdbDevice(script, banner="recovery::ro.product.name=tsuf_zte_ab") as scripted:
        with pytest.raises(HandsetNotFound, match="answered in state 'recovery'"):
            wait_for_adb(scripted.address, "sideload", timeout=0.5)


def test_an_adb_wait_for_a_handset_nobody_runs_gives_up_at_the_deadline():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(HandsetNotFound, match="within 0.6 s") as caught:
        wait_for_adb(f"tcp:127.0.0.1:{port}", ("recovery", "sideload"), timeout=0.6)
    assert time.monotonic() - started >= 0.6
    assert "fastboot port + 1" in caught.value.hint


def test_the_wait_lasts_its_whole_deadline_looking_again_and_again():
    looks = []
    started = time.monotonic()
    assert poll_until(lambda left: looks.append(left), timeout=0.5, poll=0.2) is None
    assert time.monotonic() - started >= 0.5
    assert len(looks) >= 2 and looks == sorted(looks, reverse=True)


def test_what_a_look_finds_ends_the_wait():
    looks = []

    def look(_left):
        looks.append(True)
        return "back" if len(looks) == 3 else None
    assert poll_until(look, timeout=30, poll=0.01) == "back"
    assert len(looks) == 3


def test_progress_says_how_long_the_wait_has_lasted(monkeypatch):
    monkeypatch.setattr(waiting, "PROGRESS_EVERY", 1.0)  # the faces hear every 5 s; a test should not wait 10
    waited = []
    poll_until(lambda _left: None, timeout=2.5, poll=0.1, on_progress=waited.append)
    assert waited and waited == sorted(set(waited)) and set(waited) <= {1, 2}  # whole seconds, each once
