"""Serial discovery against the virtual handset's pty: AT ports, download mode, and ports that are not handsets."""

import os
import time
import tty

import pytest
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from flasher.discovery.serial_source import scan_serial_ports
from flasher.transport.serial import at
from flasher.transport.serial.transport import open_port
from flasher.virtual.handset import Handset
from flasher.virtual.serial_server import HandsetSerialServer, imei_for
from tests.support.handsets import FAST_TIMING, small_profile


@pytest.fixture(autouse=True)
def no_system_ports(monkeypatch):
    monkeypatch.setattr(list_ports, "comports", lambda: [])


@pytest.fixture
def servers(tmp_path):
    started = []

    def start(serialno: str = "VH000001"):
        handset = Handset(small_profile(serialno), tmp_path / serialno, timing=FAST_TIMING)
        started.append(HandsetSerialServer(handset).start())
        return started[-1]
    yield start
    for server in started:
        server.stop()


def test_an_at_port_is_reported_with_the_fastboot_serial_number(servers):
    server = servers()
    [found] = scan_serial_ports([server.path])
    assert (found.address, found.link, found.mode) == (server.address, "serial", "at")
    assert (found.serialno, found.product, found.vendor) == ("VH000001", "tsuf_zte_ab", "ZTE")
    assert imei_for("VH000001") in found.detail


def test_a_port_in_download_mode_is_reported_as_such(servers):
    server = servers()
    with open_port(server.path) as port:
        at.reboot_to_download(port, at.identify(port))
    [found] = scan_serial_ports([server.path])
    assert (found.mode, found.serialno, found.product) == ("download", "VH000001", "tsuf_zte_ab")


def test_ports_are_probed_side_by_side_and_silent_ones_left_out(servers, monkeypatch):
    first, second = servers("VH000001"), servers("VH000002")
    master, slave = os.openpty()
    tty.setraw(slave)
    silent = os.ttyname(slave)
    monkeypatch.setattr(list_ports, "comports", lambda: [ListPortInfo(first.path)])
    try:
        started = time.monotonic()
        found = scan_serial_ports([second.path, silent, first.path], probe_timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        os.close(master)
        os.close(slave)
    assert sorted(device.serialno for device in found) == ["VH000001", "VH000002"]
    assert elapsed < 3.0  # about one probe's time, not three


def test_a_port_that_cannot_be_opened_is_reported_unknown():
    [found] = scan_serial_ports(["/dev/tsuf-no-such-port"])
    assert found.mode == "unknown" and "cannot open" in found.detail


def test_a_built_in_uart_is_not_probed_unless_named(servers, monkeypatch):
    """/dev/ttyS0 on most PCs: no handset is ever behind it, and a probe waits out its whole timeout."""
    handset = servers("VH000001")
    main, secondary = os.openpty()
    tty.setraw(secondary)
    uart = os.ttyname(secondary)
    on_usb = ListPortInfo(handset.path)
    on_usb.vid, on_usb.pid = 0x18D1, 0x4EE0  # a phone's modem port on USB
    monkeypatch.setattr(list_ports, "comports", lambda: [ListPortInfo(uart), on_usb])
    os.set_blocking(main, False)
    try:
        assert [device.serialno for device in scan_serial_ports()] == ["VH000001"]
        with pytest.raises(BlockingIOError):
            os.read(main, 64)  # nothing was sent to the UART
        named = scan_serial_ports([uart], probe_timeout=0.5)  # named: probed, and silent
        assert [device.address for device in named] == [f"serial:{handset.path}"]
        time.sleep(0.1)
        assert b"AT" in os.read(main, 4096)
    finally:
        os.close(main)
        os.close(secondary)
