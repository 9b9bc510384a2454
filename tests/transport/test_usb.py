"""Fastboot over USB: real pyusb against virtual handsets on the emulated bus."""

import errno
import io
import json
import os
import sys
import time

import pytest
import usb.backend.libusb1
import usb.core
import usb.util

from flasher.cli.main import main as tsuf
from flasher.fastboot import FastbootDevice, Timeouts
from flasher.discovery.waiting import wait_for_fastboot
from flasher.protocol.errors import ResponseTooLong
from flasher.transport import usb as usb_link
from flasher.transport.address import open_transport
from flasher.transport.errors import ConnectFailed, LinkClosed, LinkTimeout
from flasher.transport.usb import UsbDeviceNotFound, UsbTransport, UsbUnavailable, find_fastboot_devices
from flasher.virtual.handset import Handset
from flasher.virtual.usb_backend import VirtualUsbBus
from tests.support.handsets import FAST_TIMING, MAX_DOWNLOAD, small_profile


def _is_fastboot(device):
    return any(usb.util.find_descriptor(config, bInterfaceClass=0xFF, bInterfaceSubClass=0x42,
                                        bInterfaceProtocol=0x03) for config in device)


def test_pyusb_finds_the_handsets_by_interface_class_and_reads_their_serials(usb_handsets):
    devices = list(usb.core.find(find_all=True, backend=usb_handsets.bus, custom_match=_is_fastboot))
    assert sorted(usb.util.get_string(d, d.iSerialNumber) for d in devices) == ["VH000001", "VH000002"]


def test_listing_names_known_vendors(usb_handsets, tmp_path):
    pixel = Handset(small_profile("PIXEL1", usb_vendor_id=0x18D1, usb_product_id=0x4EE0), tmp_path / "pixel")
    usb_handsets.bus.attach(pixel)
    found = {info.serial: info for info in find_fastboot_devices()}
    assert set(found) == {"VH000001", "VH000002", "PIXEL1"}
    assert (found["VH000001"].vendor_name, found["VH000001"].vendor_id) == ("ZTE", 0x19D2)
    assert (found["PIXEL1"].vendor_name, found["PIXEL1"].product_id) == ("Google", 0x4EE0)
    assert found["PIXEL1"].bus == 1
    assert len({info.address for info in found.values()}) == 3


def test_tsuf_flashes_in_pieces_over_usb_and_fetches_it_back(usb_handsets, tmp_path, capsys):
    image = tmp_path / "system.img"
    data = os.urandom(3 * MAX_DOWNLOAD) + bytes(2 * MAX_DOWNLOAD) + os.urandom(MAX_DOWNLOAD)
    image.write_bytes(data)
    active_before = usb_handsets.handset.storage.path("system_a").read_bytes()
    assert tsuf(["-s", usb_handsets.address, "--json", "flash", "system", str(image), "--slot", "other"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["partition"] == "system_b" and report["pieces"] > 1
    fetched = tmp_path / "fetched.img"
    assert tsuf(["-s", usb_handsets.address, "fetch", "system", str(fetched), "--slot", "b"]) == 0
    assert fetched.read_bytes() == data
    assert usb_handsets.handset.storage.path("system_b").read_bytes() == data
    assert usb_handsets.handset.storage.path("system_a").read_bytes() == active_before


def test_a_rebooting_handset_leaves_the_bus_and_returns_under_a_new_address(usb_handsets):
    bus, serial = usb_handsets.bus, usb_handsets.handset.serialno
    first_address = bus.address_of(serial)
    with FastbootDevice.open(usb_handsets.address) as device:
        device.reboot()  # to Android, then back to the bootloader
        with pytest.raises(LinkClosed):
            device.getvar("product")
    assert serial not in {info.serial for info in find_fastboot_devices()}
    with wait_for_fastboot(usb_handsets.address, timeout=5, serialno=serial) as device:
        assert device.getvar("serialno") == serial
    assert bus.address_of(serial) not in (None, first_address)


def test_waiting_retries_a_handset_that_leaves_the_bus_while_being_checked(tmp_path):
    class LeavingOnceBus(VirtualUsbBus):
        left = False

        def bulk_write(self, dev_handle, ep, intf, data, timeout):
            if not self.left:  # the old enumeration of a handset that answered reboot
                self.left = True
                raise usb.core.USBError("No such device (it may have been disconnected)", errno=errno.ENODEV)
            return super().bulk_write(dev_handle, ep, intf, data, timeout)
    bus = LeavingOnceBus()
    handset = Handset(small_profile(), tmp_path / "h", timing=FAST_TIMING)
    bus.attach(handset)
    usb_link.use_backend(bus)
    try:
        with wait_for_fastboot(f"usb:{handset.serialno}", timeout=2, serialno=handset.serialno) as device:
            assert device.getvar("product") == "tsuf_zte_ab"
    finally:
        usb_link.use_backend(None)
        bus.close()
    assert bus.left


def test_unplugging_mid_flash_is_link_closed_quickly_and_the_active_slot_is_untouched(usb_handsets, tmp_path):
    handset, bus = usb_handsets.handset, usb_handsets.bus
    image = tmp_path / "system.img"
    image.write_bytes(os.urandom(4 * MAX_DOWNLOAD))
    active_before = handset.storage.path("system_a").read_bytes()

    def unplug_midway(done, total):
        if done > total // 3 and bus.address_of(handset.serialno) is not None:
            bus.detach(handset.serialno)
    started = time.monotonic()
    with FastbootDevice.open(usb_handsets.address, timeouts=Timeouts(response=2, command=5)) as device:
        with pytest.raises(LinkClosed) as info:
            device.flash("system_b", image, progress=unplug_midway)
    assert time.monotonic() - started < 2
    assert "unplugged" in info.value.hint
    assert handset.storage.path("system_a").read_bytes() == active_before
    assert handset.serialno not in {info.serial for info in find_fastboot_devices()}


def test_a_wrong_serial_names_what_was_found(usb_handsets):
    with pytest.raises(UsbDeviceNotFound) as info:
        open_transport("usb:NOSUCH")
    assert "VH000001" in str(info.value) and "VH000002" in str(info.value)
    assert "udev" in info.value.hint and "WinUSB" in info.value.hint


def test_a_silent_handset_times_out(usb_handsets):
    usb_handsets.handset.faults.stall_commands["getvar:product"] = 1.0
    with FastbootDevice.open(usb_handsets.address, timeouts=Timeouts(response=0.2)) as device:
        started = time.monotonic()
        with pytest.raises(LinkTimeout):
            device.getvar("product")
        assert time.monotonic() - started < 0.8


def test_a_claimed_handset_is_busy_for_a_second_host(usb_handsets):
    with open_transport(usb_handsets.address):
        with pytest.raises(ConnectFailed, match="in use"):
            open_transport(usb_handsets.address)
    open_transport(usb_handsets.address).close()  # closing released the interface


def test_reads_are_bounded_and_the_rest_of_a_packet_comes_next(usb_handsets):
    with open_transport(usb_handsets.address) as link:
        link.write(b"getvar:product", 1)
        assert link.read(4, 1) == b"OKAY"
        assert link.read(512, 1) == b"tsuf_zte_ab"


def test_writes_go_in_bulk_transfers_of_at_most_1_mib(tmp_path):
    sizes = []

    class CountingBus(VirtualUsbBus):
        def bulk_write(self, dev_handle, ep, intf, data, timeout):
            sizes.append(len(data))
            return super().bulk_write(dev_handle, ep, intf, data, timeout)
    bus = CountingBus()
    handset = Handset(small_profile(max_download_size=4 * MAX_DOWNLOAD), tmp_path / "h", timing=FAST_TIMING)
    bus.attach(handset)
    try:
        with FastbootDevice(UsbTransport.open(handset.serialno, backend=bus)) as device:
            size = 2 * MAX_DOWNLOAD + 1000
            device.download(size, [bytes(size)])
            out = io.BytesIO()
            assert device.upload(out) == size
    finally:
        bus.close()
    assert sizes[1:4] == [MAX_DOWNLOAD, MAX_DOWNLOAD, 1000]  # after the download command


def test_an_oversized_response_reaches_the_protocol_check(tmp_path):
    buffer_sizes = []

    class OversizedReplyBus(VirtualUsbBus):
        def bulk_read(self, dev_handle, ep, intf, buff, timeout):
            buffer_sizes.append(len(buff))
            reply = b"OKAY" + b"x" * 296
            memoryview(buff)[:len(reply)] = reply
            return len(reply)
    bus = OversizedReplyBus()
    handset = Handset(small_profile(), tmp_path / "h", timing=FAST_TIMING)
    bus.attach(handset)
    try:
        with FastbootDevice(UsbTransport.open(handset.serialno, backend=bus)) as device:
            with pytest.raises(ResponseTooLong):
                device.getvar("product")
    finally:
        bus.close()
    assert buffer_sizes == [512]


def test_usb_addresses_use_libusb_by_default():
    assert usb_link.current_backend() is usb_link.libusb_backend()
    with pytest.raises(UsbDeviceNotFound, match="found: none"):  # no USB subsystem on this machine
        open_transport("usb:0123456789ABCDEF", connect_timeout=1)


def test_a_frozen_bundle_without_libusb_says_so(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(usb.backend.libusb1, "get_backend", lambda: None)
    with pytest.raises(UsbUnavailable, match="no libusb library"):
        open_transport("usb:0123456789ABCDEF")

