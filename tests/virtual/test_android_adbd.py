"""The virtual phone in Android: boot completion marks the slot, USB debugging decides whether
adbd runs, and adbd lets in only a host whose key its user allowed."""

import socket
import time

import pytest

from flasher.adb import packets
from flasher.adb.client import ANDROID, AdbDevice
from flasher.adb.connection import AdbConnection, Role
from flasher.adb.errors import AuthRequired, Unauthorized
from flasher.adb.host_key import create_key
from flasher.adb.link import AdbLink
from flasher.adb.transport import open_adb_transport
from flasher.fastboot import FastbootDevice
from flasher.discovery.waiting import wait_for_adb
from flasher.transport import usb
from flasher.virtual.adb_server import serve_pair
from flasher.virtual.handset import Handset, Mode, Timing
from flasher.virtual.slots import SlotState
from flasher.virtual.usb_debugging import Debugging
from tests.support.handsets import FAST_TIMING, UsbHandsets, small_profile


@pytest.fixture
def phone(tmp_path):
    """phone(debugging, timing) -> (handset, ADB address) of a Qualcomm phone booted into Android."""
    started = []

    def start(debugging: Debugging, timing: Timing = FAST_TIMING):
        handset = Handset(small_profile(family="qualcomm"), tmp_path / f"phone{len(started)}", timing=timing,
                          usb_debugging=debugging)
        fastboot, adb = serve_pair(handset)
        fastboot.start()
        adb.start()
        started.append((handset, fastboot, adb))
        handset._save(handset.meta.with_slot("a", SlotState(3, False, False)))  # as after set_active
        handset._begin_reboot(Mode.ANDROID)
        assert handset.wait_for_mode(Mode.ANDROID, 10)
        return handset, adb.address
    yield start
    for handset, fastboot, adb in started:
        adb.stop()
        fastboot.stop()
        handset.shutdown()


def _eventually(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_slot_is_marked_successful_only_once_boot_completes(phone, tmp_path):
    slow, address = phone(Debugging.ALLOW, Timing(reboot=0.05, boot=0.05, boot_complete=3600))
    assert not slow.meta.a.successful and slow.meta.a.tries_remaining == 2  # one try spent, not yet marked
    with wait_for_adb(address, ANDROID, timeout=10, key=create_key(tmp_path / "key" / "adbkey")) as device:
        assert device.getprop("sys.boot_completed") == ""
    fast, _ = phone(Debugging.ALLOW)
    assert _eventually(lambda: fast.boot_completed)
    assert fast.meta.a.successful


def test_with_usb_debugging_off_there_is_no_adbd(phone):
    handset, address = phone(Debugging.OFF)
    host, port = address.removeprefix("tcp:").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.settimeout(5)
        assert sock.recv(24) == b""  # accepted and closed at once, as with no daemon behind it


def test_without_a_key_the_host_is_told_the_daemon_wants_one(phone):
    _handset, address = phone(Debugging.ALLOW)
    with pytest.raises(AuthRequired):
        AdbDevice.open(address, timeout=5)


def test_a_key_the_user_never_allows_stays_unauthorized_and_its_services_closed(phone, tmp_path):
    handset, address = phone(Debugging.ASK)
    key = create_key(tmp_path / "key" / "adbkey")
    with pytest.raises(Unauthorized) as raised:
        AdbDevice.open(address, timeout=5, key=key, approval_timeout=0.5)
    assert "USB debugging" in raised.value.hint
    assert handset.usb_debugging.asking and not handset.usb_debugging.trusted()
    assert "adbd: asking the user to allow USB debugging" in handset.boot_log


def test_a_hostile_public_key_shows_no_prompt(phone, tmp_path):
    handset, address = phone(Debugging.ALLOW)
    link = AdbLink(open_adb_transport(address, timeout=5), AdbConnection(Role.HOST, "host::features="))
    with link:
        link.connection.connect()
        link.next_event(5)  # the token
        link.connection.answer_token(packets.AUTH_RSAPUBLICKEY, b"AAAA not a key\0")
        link.connection.answer_token(packets.AUTH_SIGNATURE, b"\xff" * 256)
        event = link.next_event(5)  # a new token, never CNXN
        assert event.kind == "AUTH" and len(event.token) == 20
    assert not handset.usb_debugging.trusted()


def test_an_allowed_key_is_remembered_across_reboots(phone, tmp_path):
    handset, address = phone(Debugging.ALLOW)
    key = create_key(tmp_path / "key" / "adbkey")
    with wait_for_adb(address, ANDROID, timeout=10, key=key) as device:
        device.reboot("")
    assert handset.wait_for_mode(Mode.ANDROID, 10)
    handset.usb_debugging.setting = Debugging.ASK  # a new key would now wait; this one is known
    with wait_for_adb(address, ANDROID, timeout=10, key=key) as device:
        assert device.getprop("ro.serialno") == handset.serialno
        assert device.getprop("ro.boot.slot_suffix") == "_a"


def test_over_usb_a_phone_with_debugging_off_shows_only_its_serial(tmp_path):
    usb_handsets = UsbHandsets(tmp_path / "usb", family="qualcomm")
    try:
        handset = usb_handsets.handset
        assert not usb.seen_outside_fastboot(handset.serialno)  # in fastboot
        with FastbootDevice.open(usb_handsets.address) as device:
            device.reboot()
        assert handset.wait_for_mode(Mode.ANDROID, 10)
        assert _eventually(lambda: usb.seen_outside_fastboot(handset.serialno))
        assert not usb.find_fastboot_devices()
        assert not usb.find_fastboot_devices(interface_class=usb.ADB_INTERFACE)
    finally:
        usb_handsets.stop()
