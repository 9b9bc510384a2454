"""Handsets in recovery: seen on USB and at listed network addresses, by serial, without disturbing anyone."""

import socket
import threading
import time

import pytest

from flasher.fastboot import FastbootDevice
from flasher.discovery.found import RECOVERY_MODES, FoundDevice
from flasher.discovery.network_source import NetworkSource
from flasher.discovery.scanner import Scanner
from flasher.discovery.usb_source import BUSY_DETAIL, UsbSource
from flasher.discovery.waiting import HandsetNotFound, wait_for_adb, wait_for_handset
from flasher.discovery.watcher import ARRIVED, CHANGED, Watcher
from flasher.transport import usb as usb_link
from flasher.transport.usb import ADB_INTERFACE, UsbTransport
from flasher.virtual.handset import Mode
from tests.support.handsets import RunningHandset, small_profile

from .conftest import free_port

ZTE = 0x19D2
WAIT = 15.0


def _scan_until(source, predicate, timeout: float = WAIT) -> list[FoundDevice]:
    deadline = time.monotonic() + timeout
    while not predicate(found := source.scan()):
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


@pytest.fixture
def tcp_handset(tmp_path):
    """A handset on TCP with recovery's ADB on the next port, in its bootloader."""
    running = RunningHandset(tmp_path / "tcp", small_profile("VHTCP001"), adb=True)
    yield running
    running.stop()


def test_a_usb_handset_in_recovery_and_in_sideload_is_listed_by_serial_and_product(bench):
    handset = bench.usb("VHUSB001", Mode.RECOVERY, usb_vendor_id=ZTE, product="zte_usb_one")
    source = UsbSource(bench.bus)

    assert source.scan() == [FoundDevice("usb:VHUSB001", "usb", "recovery", "VHUSB001", "zte_usb_one", "ZTE")]

    usb_link.use_backend(bench.bus)  # for wait_for_adb, as the update session reaches the bus
    try:
        wait_for_adb("usb:VHUSB001", "recovery", timeout=WAIT).reboot_to_sideload()
    finally:
        usb_link.use_backend(None)
    assert handset.wait_for_mode(Mode.SIDELOAD, WAIT)
    [device] = _scan_until(source, lambda found: [d.mode for d in found] == ["sideload"])
    assert (device.address, device.serialno, device.product) == ("usb:VHUSB001", "VHUSB001", "zte_usb_one")
    assert device.mode_text == "recovery (ADB sideload)"


def test_a_usb_handset_rebooted_into_recovery_keeps_its_address_and_serial(bench):
    handset = bench.usb("VHUSB001")
    source = UsbSource(bench.bus)
    assert [(d.address, d.mode) for d in source.scan()] == [("usb:VHUSB001", "fastboot")]
    with FastbootDevice(UsbTransport.open("VHUSB001", backend=bench.bus)) as device:
        device.reboot("recovery")
    assert handset.wait_for_mode(Mode.RECOVERY, WAIT)
    [device] = _scan_until(source, lambda found: [d.mode for d in found] == ["recovery"])
    assert device.key == ("usb:VHUSB001", "VHUSB001")  # the same handset to the watcher and the window


def test_a_usb_handset_in_recovery_is_asked_once_per_enumeration(bench, monkeypatch):
    bench.usb("VHUSB001", Mode.RECOVERY)
    source = UsbSource(bench.bus)
    first = source.scan()
    assert [d.mode for d in first] == ["recovery"]
    monkeypatch.setattr(UsbTransport, "open", classmethod(lambda *a, **k: pytest.fail("opened again")))
    assert source.scan() == first


def test_a_busy_usb_handset_is_listed_without_being_opened(bench, monkeypatch):
    bench.usb("VHUSB001", Mode.RECOVERY)
    bench.usb("VHUSB002", Mode.SIDELOAD)
    source = UsbSource(bench.bus)
    assert {d.serialno: d.mode for d in source.scan()} == {"VHUSB001": "recovery", "VHUSB002": "sideload"}
    bench.bus.detach("VHUSB002")
    bench.usb("VHUSB003", Mode.SIDELOAD)  # a new enumeration, never asked
    opened = []
    open_usb = UsbTransport.open.__func__
    monkeypatch.setattr(UsbTransport, "open",
                        classmethod(lambda cls, serial, **k: opened.append(serial) or open_usb(cls, serial, **k)))
    source.busy = {"usb:VHUSB001", "usb:VHUSB003"}

    found = {d.serialno: d for d in source.scan()}

    assert opened == []
    assert found["VHUSB001"].mode == "recovery"  # what it said before its session began
    assert (found["VHUSB003"].mode, found["VHUSB003"].detail) == ("unknown", BUSY_DETAIL)
    source.busy = set()
    assert source.scan()[-1].mode == "sideload" and opened == ["VHUSB003"]


def test_a_usb_handset_whose_adb_is_held_by_another_program_is_listed_as_in_use(bench):
    bench.usb("VHUSB001", Mode.RECOVERY)
    with UsbTransport.open("VHUSB001", backend=bench.bus, interface_class=ADB_INTERFACE):
        [device] = UsbSource(bench.bus).scan()
    assert (device.address, device.mode, device.serialno) == ("usb:VHUSB001", "unknown", "VHUSB001")
    assert "in use" in device.detail


def test_a_network_handset_first_seen_in_recovery_is_listed_at_its_fastboot_address(tmp_path):
    running = RunningHandset(tmp_path / "tcp", small_profile("VHTCP001"), adb=True, start_mode=Mode.RECOVERY)
    try:
        [device] = NetworkSource([running.address]).scan()
    finally:
        running.stop()
    assert (device.address, device.link, device.mode, device.product) == (
        running.address, "tcp", "recovery", "tsuf_zte_ab")
    assert device.serialno is None  # ADB does not say it, and its bootloader was never asked
    assert device.detail == f"ADB at {running.adb_address}"


def test_a_network_handset_keeps_its_serial_into_recovery_and_sideload(tcp_handset):
    source = NetworkSource([tcp_handset.address])
    [before] = source.scan()
    assert (before.mode, before.serialno) == ("fastboot", "VHTCP001")
    with FastbootDevice.open(tcp_handset.address) as device:
        device.reboot("recovery")
    assert tcp_handset.handset.wait_for_mode(Mode.RECOVERY, WAIT)
    [recovery] = _scan_until(source, lambda found: [d.mode for d in found] == ["recovery"])
    assert recovery.key == before.key == (tcp_handset.address, "VHTCP001")

    wait_for_adb(tcp_handset.adb_address, "recovery", timeout=WAIT).reboot_to_sideload()
    assert tcp_handset.handset.wait_for_mode(Mode.SIDELOAD, WAIT)
    [sideload] = _scan_until(source, lambda found: [d.mode for d in found] == ["sideload"])
    assert sideload.key == before.key


def test_a_port_after_a_dead_address_that_is_not_recovery_is_not_taken_for_a_handset(bench):
    fastboot = bench.tcp("VHTCP001")  # fastboot listens at P + 1: it refuses ADB's greeting
    silent = socket.create_server(("127.0.0.1", 0))  # accepts and says nothing
    try:
        addresses = [f"tcp:127.0.0.1:{port - 1}" for port in (int(fastboot.address.rsplit(":", 1)[1]),
                                                              silent.getsockname()[1])]
        for address in addresses:
            with pytest.raises(OSError):  # nothing at the fastboot port itself
                socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1])), timeout=1).close()
        started = time.monotonic()
        assert NetworkSource(addresses, probe_timeout=1.0).scan() == []
        assert time.monotonic() - started < 3.0  # the ADB try is short
    finally:
        silent.close()


def test_the_watcher_follows_a_handset_into_recovery_by_its_serial(tcp_handset):
    watcher = Watcher(NetworkSource([tcp_handset.address]).scan, interval=0.1)
    seen = []
    done = threading.Event()

    def record(change):
        seen.append(change)
        if change.device.mode == "recovery":
            done.set()
    thread = watcher.run(record)
    try:
        deadline = time.monotonic() + WAIT
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        with FastbootDevice.open(tcp_handset.address) as device:
            device.reboot("recovery")
        assert done.wait(WAIT), seen
    finally:
        watcher.stop()
        thread.join(WAIT)
    last = seen[-1]
    # Caught mid-reboot it leaves and comes back; otherwise it only changes mode. Either way, by serial.
    assert last.event in (ARRIVED, CHANGED) and last.device.serialno == "VHTCP001"
    assert seen[0].event == ARRIVED and seen[0].device.mode == "fastboot"


def test_wait_for_handset_follows_it_into_recovery_or_says_where_it_is(bench):
    bench.usb("VHUSB001", Mode.RECOVERY)
    scanner = Scanner([UsbSource(bench.bus)])
    found = wait_for_handset("VHUSB001", timeout=WAIT, scanner=scanner, modes=RECOVERY_MODES)
    assert (found.address, found.mode) == ("usb:VHUSB001", "recovery")
    with pytest.raises(HandsetNotFound) as caught:
        wait_for_handset("VHUSB001", timeout=0.3, scanner=scanner, poll=0.05)
    assert "did not appear in fastboot mode within 0.3 s: it is in recovery (ADB) at usb:VHUSB001" in str(caught.value)
    assert "Reboot to bootloader" in caught.value.hint


def test_a_dead_address_costs_no_more_than_before(bench):
    dead = f"tcp:127.0.0.1:{free_port()}"
    started = time.monotonic()
    assert NetworkSource([dead], probe_timeout=6.0).scan() == []
    assert time.monotonic() - started < 3.0  # refused twice, at once: no probe timeout waited out
