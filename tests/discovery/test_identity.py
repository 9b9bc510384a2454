"""Following a handset by serial number across a reboot and across links."""

import time

import pytest

from flasher.device import FastbootDevice
from flasher.discovery.found import FoundDevice
from flasher.discovery.identity import HandsetNotFound, wait_for_handset
from flasher.discovery.network_source import NetworkSource
from flasher.discovery.scanner import Scanner
from flasher.discovery.usb_source import UsbSource
from flasher.transport.usb import UsbTransport


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
