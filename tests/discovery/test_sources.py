"""USB, TCP and UDP sources against virtual handsets, the targets file, and the scanner."""

import json
import socket
import sys
import time
import types

import pytest

from flasher.discovery import network_source
from flasher.discovery.found import FoundDevice
from flasher.discovery.network_source import BadTargets, NetworkSource, read_targets, targets_file
from flasher.discovery.scanner import Scanner, SerialSource, default_sources
from flasher.discovery.usb_source import UsbSource
from flasher.fastboot import FastbootDevice
from flasher.errors import FlasherError
from flasher.transport.usb import UsbTransport
from flasher.virtual.handset import Mode

from .conftest import free_port

ZTE = 0x19D2


def test_usb_tcp_and_udp_handsets_are_listed_with_serial_and_product(bench):
    bench.usb("VHUSB001", usb_vendor_id=ZTE, product="zte_usb_one")
    tcp = bench.tcp("VHTCP001")
    udp = bench.udp("VHUDP001")
    dead = f"tcp:127.0.0.1:{free_port()}"
    scanner = Scanner([UsbSource(bench.bus), NetworkSource([tcp.address, udp.address, dead])])

    found = {device.serialno: device for device in scanner.scan()}

    assert set(found) == {"VHUSB001", "VHTCP001", "VHUDP001"}
    assert found["VHUSB001"] == FoundDevice("usb:VHUSB001", "usb", "fastboot", "VHUSB001", "zte_usb_one", "ZTE")
    assert found["VHTCP001"] == FoundDevice(tcp.address, "tcp", "fastboot", "VHTCP001", "tsuf_zte_ab")
    assert found["VHUDP001"] == FoundDevice(udp.address, "udp", "fastboot", "VHUDP001", "tsuf_zte_ab")
    assert scanner.problems == []


def test_fastbootd_is_told_apart_from_the_bootloader(bench):
    handset = bench.usb("VHUSB001")
    with FastbootDevice(UsbTransport.open("VHUSB001", backend=bench.bus)) as device:
        device.reboot("fastboot")
    assert handset.wait_for_mode(Mode.FASTBOOTD, 10)
    deadline = time.monotonic() + 10
    while not (found := UsbSource(bench.bus).scan()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [device.mode for device in found] == ["fastbootd"]


def test_a_usb_handset_in_use_is_listed_without_being_asked(bench):
    bench.usb("VHUSB001")
    with UsbTransport.open("VHUSB001", backend=bench.bus):
        [device] = UsbSource(bench.bus).scan()
    assert (device.address, device.mode, device.serialno) == ("usb:VHUSB001", "unknown", "VHUSB001")
    assert "in use" in device.detail


def test_a_usb_handset_is_asked_once_per_enumeration(bench, monkeypatch):
    bench.usb("VHUSB001")
    source = UsbSource(bench.bus)
    first = source.scan()
    monkeypatch.setattr(UsbTransport, "open", classmethod(lambda *a, **k: pytest.fail("opened again")))
    assert source.scan() == first


def test_the_default_usb_source_follows_use_backend(usb_handsets):
    found = UsbSource().scan()
    assert [device.serialno for device in found] == [handset.serialno for handset in usb_handsets.handsets]


def test_network_probes_run_in_parallel_within_a_bounded_time(bench):
    servers = [bench.tcp(f"VHTCP00{i}") for i in range(1, 4)]
    silent = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(6)]  # bound, never answer
    try:
        for sock in silent:
            sock.bind(("127.0.0.1", 0))
        addresses = [server.address for server in servers]
        addresses += [f"udp:127.0.0.1:{sock.getsockname()[1]}" for sock in silent]
        started = time.monotonic()
        found = NetworkSource(addresses, probe_timeout=1.0).scan()
        elapsed = time.monotonic() - started
    finally:
        for sock in silent:
            sock.close()
    assert sorted(device.serialno for device in found) == ["VHTCP001", "VHTCP002", "VHTCP003"]
    assert 0.9 < elapsed < 4.0  # one 1 s timeout, not six in a row; slack for a busy machine


def test_a_known_udp_handset_is_only_queried_so_no_session_is_replaced(bench, monkeypatch):
    server = bench.udp("VHUDP001")
    source = NetworkSource([server.address], probe_timeout=1.0)
    first = source.scan()
    assert [device.serialno for device in first] == ["VHUDP001"]
    monkeypatch.setattr(network_source, "open_transport", lambda *a, **k: pytest.fail("a new session"))
    assert source.scan() == first
    server.stop()
    assert source.scan() == []


def test_targets_from_plain_lines_with_comments(tmp_path):
    path = tmp_path / "targets"
    path.write_text("# bench\ntcp:127.0.0.2\n\n  udp:[::1]:5555  \ntcp:127.0.0.2\n")
    assert read_targets(path) == ["tcp:127.0.0.2", "udp:[::1]:5555"]


@pytest.mark.parametrize("data", [["tcp:127.0.0.2", "udp:127.0.0.3"], {"targets": ["tcp:127.0.0.2", "udp:127.0.0.3"]}])
def test_targets_from_json(tmp_path, data):
    path = tmp_path / "targets.json"
    path.write_text(json.dumps(data))
    assert read_targets(path) == ["tcp:127.0.0.2", "udp:127.0.0.3"]


@pytest.mark.parametrize("text, why", [
    ("tcp:127.0.0.2\n127.0.0.3:5554\n", "not a device address"),
    ("usb:ABC\n", "not a network address"),
    ('{"targets": "tcp:127.0.0.2"}', "list of address strings"),
    ("[tcp:127.0.0.2]", "not valid JSON"),
])
def test_bad_targets_files_are_named(tmp_path, text, why):
    path = tmp_path / "targets"
    path.write_text(text)
    with pytest.raises(BadTargets, match=why) as caught:
        read_targets(path)
    assert "--targets" in caught.value.hint


def test_missing_targets_file(tmp_path):
    with pytest.raises(BadTargets, match="cannot read"):
        read_targets(tmp_path / "nope")


def test_targets_file_comes_from_the_option_then_the_environment():
    assert str(targets_file("given", {"TSUF_TARGETS": "env"})) == "given"
    assert str(targets_file(None, {"TSUF_TARGETS": "env"})) == "env"
    assert targets_file(None, {}) is None


class _Fixed:
    def __init__(self, name, devices=(), error=None):
        self.name, self._devices, self._error = name, list(devices), error

    def scan(self):
        if self._error:
            raise self._error
        return self._devices


def test_a_failing_source_is_a_problem_and_the_others_still_count():
    device = FoundDevice("tcp:127.0.0.2:5554", "tcp", "fastboot", "S1")
    scanner = Scanner([_Fixed("usb", error=FlasherError("no libusb", hint="install it")),
                       _Fixed("crashy", error=RuntimeError("bug")), _Fixed("network", [device])])
    assert scanner.scan() == [device]
    assert [(p.source, p.message, p.hint) for p in scanner.problems][0] == ("usb", "no libusb", "install it")
    assert "bug" in scanner.problems[1].message


def test_results_are_sorted_by_link_then_address():
    a = FoundDevice("usb:B", "usb", "fastboot", "B")
    b = FoundDevice("tcp:h:2", "tcp", "fastboot", "C")
    c = FoundDevice("usb:A", "usb", "fastboot", "A")
    assert Scanner([_Fixed("one", [a, b]), _Fixed("two", [c])]).scan() == [b, c, a]


def test_serial_ports_come_from_the_serial_source(monkeypatch):
    port = FoundDevice("serial:/dev/ttyUSB0", "serial", "download", "S1")
    calls = []

    def scan_serial_ports(ports=None, probe_timeout=1.0):
        calls.append(probe_timeout)
        return [port]

    monkeypatch.setitem(sys.modules, "flasher.discovery.serial_source",
                        types.SimpleNamespace(scan_serial_ports=scan_serial_ports))
    sources = default_sources(probe_timeout=0.5)
    assert isinstance(sources[-1], SerialSource)
    assert Scanner(sources[-1:]).scan() == [port]
    assert calls == [0.5]
