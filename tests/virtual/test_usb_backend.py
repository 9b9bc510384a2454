"""The virtual USB bus as pyusb sees it: descriptors, strings, transfers, hotplug."""

import errno
import time

import pytest
import usb.core
import usb.util

from flasher.virtual.handset import Handset, Mode
from flasher.virtual.usb_backend import VirtualUsbBus
from tests.support.handsets import FAST_TIMING, android_profile, small_profile


@pytest.fixture
def bus():
    bus = VirtualUsbBus()
    yield bus
    bus.close()


def _handset(tmp_path, serial="VH000001", **changes):
    return Handset(small_profile(serial, **changes), tmp_path / serial, timing=FAST_TIMING)


def _device(bus, serial="VH000001"):
    return usb.core.find(backend=bus, custom_match=lambda d: d.serial_number == serial)


def test_device_descriptor(bus, tmp_path):
    bus.attach(_handset(tmp_path, usb_vendor_id=0x18D1, usb_product_id=0x4EE0))
    device = _device(bus)
    assert (device.bcdUSB, device.idVendor, device.idProduct) == (0x0200, 0x18D1, 0x4EE0)
    assert (device.bus, device.address, device.port_number, device.port_numbers) == (1, 1, 1, (1,))
    assert device.speed == usb.util.SPEED_HIGH
    assert device.bNumConfigurations == 1


def test_one_configuration_with_the_fastboot_interface_and_two_bulk_endpoints(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    device = _device(bus)
    (config,) = list(device)  # iteration ends: IndexError past the last alternate setting
    (interface,) = list(config)
    assert (interface.bInterfaceClass, interface.bInterfaceSubClass, interface.bInterfaceProtocol) == (
        0xFF, 0x42, 0x03)
    endpoints = {ep.bEndpointAddress: ep for ep in interface}
    assert set(endpoints) == {0x81, 0x01}
    for ep in endpoints.values():
        assert usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
        assert ep.wMaxPacketSize == 512
    assert usb.util.get_string(device, interface.iInterface) == "fastboot"


def test_string_descriptors_in_us_english(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    device = _device(bus)
    assert device.langids == (0x0409,)
    assert (device.manufacturer, device.product) == ("ZTE", "tsuf_zte_ab")
    assert usb.util.get_string(device, device.iSerialNumber, 0x0409) == "VH000001"


def test_unsupported_control_requests_stall(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    with pytest.raises(usb.core.USBError) as info:
        _device(bus).ctrl_transfer(0x80, 0x06, 0x0600, 0, 18)  # device qualifier
    assert info.value.errno == errno.EPIPE


def test_a_packet_larger_than_the_read_buffer_is_split_across_reads(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    device = _device(bus)
    device.write(0x01, b"getvar:product", 1000)
    assert bytes(device.read(0x81, 4, 1000)) == b"OKAY"
    assert bytes(device.read(0x81, 512, 1000)) == b"tsuf_zte_ab"


def test_reads_time_out_in_milliseconds(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    started = time.monotonic()
    with pytest.raises(usb.core.USBTimeoutError):
        _device(bus).read(0x81, 512, 100)
    assert 0.09 < time.monotonic() - started < 0.5


def test_writes_time_out_when_the_handset_stops_taking_packets(bus, tmp_path):
    handset = _handset(tmp_path)
    handset.faults.stall_commands["getvar"] = 1.0
    bus.attach(handset)
    device = _device(bus)
    device.write(0x01, b"getvar:product", 1000)
    time.sleep(0.05)  # the handset took that command and stalls on it
    for _ in range(4):  # as many as wait in the pipe
        device.write(0x01, b"getvar:product", 100)
    with pytest.raises(usb.core.USBTimeoutError):
        device.write(0x01, b"getvar:product", 100)


def test_a_second_handle_cannot_claim_a_claimed_interface(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    first, second = _device(bus), _device(bus)
    usb.util.claim_interface(first, 0)
    with pytest.raises(usb.core.USBError) as info:
        usb.util.claim_interface(second, 0)
    assert info.value.errno == errno.EBUSY
    usb.util.dispose_resources(first)
    usb.util.claim_interface(second, 0)


def test_hotplug_gives_unique_addresses_and_unplug_is_enodev(bus, tmp_path):
    bus.attach(_handset(tmp_path, "VH000001"))
    bus.attach(_handset(tmp_path, "VH000002"))
    devices = list(usb.core.find(find_all=True, backend=bus))
    assert sorted(d.address for d in devices) == [1, 2]
    first = _device(bus, "VH000001")
    bus.detach("VH000001")
    assert [d.serial_number for d in usb.core.find(find_all=True, backend=bus)] == ["VH000002"]
    with pytest.raises(usb.core.USBError) as info:
        first.write(0x01, b"getvar:product", 1000)
    assert info.value.errno == errno.ENODEV
    bus.attach(_handset(tmp_path, "VH000001"))
    assert _device(bus, "VH000001").address == 3


def test_the_same_serial_cannot_be_attached_twice(bus, tmp_path):
    bus.attach(_handset(tmp_path))
    with pytest.raises(ValueError, match="already attached"):
        bus.attach(_handset(tmp_path))


def test_a_reboot_delivers_the_okay_then_re_enumerates_with_a_new_address(bus, tmp_path):
    handset = _handset(tmp_path)
    bus.attach(handset)
    device = _device(bus)
    device.write(0x01, b"reboot-bootloader", 1000)
    assert bytes(device.read(0x81, 512, 1000)) == b"OKAY"
    with pytest.raises(usb.core.USBError) as info:
        device.read(0x81, 512, 1000)
    assert info.value.errno == errno.ENODEV
    assert handset.wait_for_mode(Mode.BOOTLOADER, 2)
    deadline = time.monotonic() + 2
    while bus.address_of(handset.serialno) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _device(bus).address == 2
    assert bus.address_of(handset.serialno) == 2


def test_a_handset_off_fastboot_is_not_on_the_bus(bus, tmp_path):
    handset = _handset(tmp_path)
    handset.mode = Mode.ANDROID
    bus.attach(handset)
    assert list(usb.core.find(find_all=True, backend=bus)) == []
    assert bus.address_of(handset.serialno) is None


def test_a_phone_enumerates_as_fastbootd_in_userspace_and_with_its_own_ids_in_the_bootloader(bus, tmp_path):
    for mode, ids in ((Mode.BOOTLOADER, (0x19D2, 0x1350)), (Mode.FASTBOOTD, (0x18D1, 0x4EE0))):
        handset = Handset(android_profile(f"PHONE{mode.value}"), tmp_path / mode.value, timing=FAST_TIMING,
                          start_mode=mode)
        bus.attach(handset)
        device = _device(bus, handset.serialno)
        assert (device.idVendor, device.idProduct) == ids
