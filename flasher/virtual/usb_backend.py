"""A virtual USB bus: a pyusb backend whose devices are virtual handsets.

Real pyusb code (usb.core.find, usb.util.get_string, endpoint reads and writes)
sees each attached handset as a high-speed fastboot device with real
descriptors: vendor and product ids from its profile, interface 0 of class
0xFF/0x42/0x03 with bulk endpoints 0x81 IN and 0x01 OUT of 512 bytes, and
string descriptors in US English. Each bulk OUT transfer reaches the handset as
one packet; each packet the handset writes is returned by bulk IN reads.

Like a real phone, a handset is on the bus only while it speaks fastboot or,
in recovery and sideload mode and in Android with USB debugging on, ADB, whose
interface is class 0xFF/0x42/0x01 instead; a phone in Android with debugging off
shows a media (MTP, 0x06/0x01/0x01) interface that carries only its serial. A reboot ends its enumeration (the host sees errno 19, ENODEV) and it
comes back under a new address with the same serial number. `attach` and `detach` plug
handsets in and out at run time.
"""

import errno
import struct
import threading
from collections import deque
from types import SimpleNamespace

import usb.backend
import usb.core
import usb.util

from ..transport.base import Transport
from ..transport.errors import LinkClosed, LinkTimeout
from ..transport.usb import ADB_INTERFACE, FASTBOOT_INTERFACE

MEDIA_INTERFACE = (0x06, 0x01, 0x01)
"""MTP: what a phone in Android offers with USB debugging off; it carries its serial, nothing TSUF speaks."""
from .handset import Handset, Mode

EP_IN = 0x81
EP_OUT = 0x01
PACKET_SIZE = 512
CONFIGURATION_VALUE = 1
US_ENGLISH = 0x0409
GET_DESCRIPTOR = 0x06
MAX_ADDRESS = 127
PIPE_DEPTH = 4
"""Packets queued each way before the writer waits, as a device NAKs a full FIFO."""

ONLINE_POLL = 0.01
JOIN_TIMEOUT = 5.0

_MANUFACTURER, _PRODUCT, _SERIAL, _INTERFACE_NAME = 1, 2, 3, 4


class VirtualUsbBus(usb.backend.IBackend):
    """One root hub; pass it as pyusb's `backend`, or to `flasher.transport.usb.use_backend`."""

    def __init__(self, bus_number: int = 1):
        self.bus_number = bus_number
        self._lock = threading.Lock()
        self._ports: dict[str, _Port] = {}
        self._next_address = 1

    # -- plugging handsets in and out -------------------------------------------

    def attach(self, handset: Handset) -> None:
        """Plug `handset` in; it appears on the bus whenever it speaks fastboot."""
        with self._lock:
            if handset.serialno in self._ports:
                raise ValueError(f"a handset with serial {handset.serialno} is already attached")
            if len(self._ports) >= MAX_ADDRESS - 1:
                raise ValueError("the virtual bus is full")
            used = {port.number for port in self._ports.values()}
            number = next(n for n in range(1, MAX_ADDRESS) if n not in used)
            port = _Port(self, handset, number)
            self._ports[handset.serialno] = port
        if _function_of(handset):  # on the bus when attach returns, so callers need not poll
            self._enumerate(port)
        port.thread.start()

    def detach(self, serialno: str) -> None:
        """Unplug: transfers in flight fail with ENODEV and the handset's session ends."""
        with self._lock:
            port = self._ports.pop(serialno)
            port.unplugged.set()
            if port.enumeration is not None:
                port.enumeration.end(unplugged=True)
                port.enumeration = None
        port.thread.join(JOIN_TIMEOUT)

    def close(self) -> None:
        for serialno in list(self._ports):
            self.detach(serialno)

    def address_of(self, serialno: str) -> int | None:
        """The handset's current bus address, None while it is off the bus."""
        with self._lock:
            port = self._ports.get(serialno)
            enumeration = port.enumeration if port else None
            return enumeration.address if enumeration and not enumeration.gone else None

    def _enumerate(self, port: "_Port") -> "_Enumeration | None":
        with self._lock:
            if port.unplugged.is_set():
                return None
            in_use = {p.enumeration.address for p in self._ports.values() if p.enumeration}
            while self._next_address in in_use:  # fewer than 127 ports, so one is free
                self._advance_address()
            port.enumeration = _Enumeration(port, self._next_address)
            self._advance_address()
            return port.enumeration

    def _advance_address(self) -> None:
        self._next_address = self._next_address % MAX_ADDRESS + 1

    def _leave(self, port: "_Port", enumeration: "_Enumeration") -> None:
        with self._lock:
            enumeration.end(unplugged=False)
            if port.enumeration is enumeration:
                port.enumeration = None

    # -- pyusb backend interface --------------------------------------------------

    def enumerate_devices(self):
        with self._lock:
            return [p.enumeration for p in self._ports.values() if p.enumeration and not p.enumeration.gone]

    def get_device_descriptor(self, dev: "_Enumeration"):
        handset = dev.port.handset
        vendor, product = handset.family.in_mode(handset.mode).usb_ids(handset.profile)
        return SimpleNamespace(
            bLength=18, bDescriptorType=usb.util.DESC_TYPE_DEVICE, bcdUSB=0x0200,
            bDeviceClass=0, bDeviceSubClass=0, bDeviceProtocol=0, bMaxPacketSize0=64,
            idVendor=vendor, idProduct=product, bcdDevice=0x0100,
            iManufacturer=_MANUFACTURER, iProduct=_PRODUCT, iSerialNumber=_SERIAL, bNumConfigurations=1,
            bus=self.bus_number, address=dev.address, port_number=dev.port.number,
            port_numbers=(dev.port.number,), speed=usb.util.SPEED_HIGH)

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError(config)
        return SimpleNamespace(
            bLength=9, bDescriptorType=usb.util.DESC_TYPE_CONFIG, wTotalLength=9 + 9 + 7 + 7,
            bNumInterfaces=1, bConfigurationValue=CONFIGURATION_VALUE, iConfiguration=0,
            bmAttributes=0x80, bMaxPower=250, extra_descriptors=[])

    def get_interface_descriptor(self, dev, intf, alt, config):
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError(intf, alt, config)  # pyusb iterates alternate settings until IndexError
        cls, subclass, protocol = dev.function
        return SimpleNamespace(
            bLength=9, bDescriptorType=usb.util.DESC_TYPE_INTERFACE, bInterfaceNumber=0,
            bAlternateSetting=0, bNumEndpoints=2, bInterfaceClass=cls, bInterfaceSubClass=subclass,
            bInterfaceProtocol=protocol, iInterface=_INTERFACE_NAME, extra_descriptors=[])

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        if (intf, alt, config) != (0, 0, 0) or ep not in (0, 1):
            raise IndexError(ep, intf, alt, config)
        return SimpleNamespace(
            bLength=7, bDescriptorType=usb.util.DESC_TYPE_ENDPOINT, bEndpointAddress=(EP_IN, EP_OUT)[ep],
            bmAttributes=usb.util.ENDPOINT_TYPE_BULK, wMaxPacketSize=PACKET_SIZE, bInterval=0,
            bRefresh=0, bSynchAddress=0, extra_descriptors=[])

    def open_device(self, dev: "_Enumeration"):
        if dev.gone:
            raise _no_device()
        return _Handle(dev)

    def close_device(self, dev_handle: "_Handle") -> None:
        self.release_interface(dev_handle, 0)

    def set_configuration(self, dev_handle, config_value) -> None:
        _present(dev_handle)
        if config_value != CONFIGURATION_VALUE:
            raise _invalid(f"no configuration {config_value}")

    def get_configuration(self, dev_handle) -> int:
        _present(dev_handle)
        return CONFIGURATION_VALUE

    def set_interface_altsetting(self, dev_handle, intf, altsetting) -> None:
        _present(dev_handle)
        if (intf, altsetting) != (0, 0):
            raise _invalid(f"no interface {intf} alternate setting {altsetting}")

    def claim_interface(self, dev_handle: "_Handle", intf) -> None:
        enumeration = _present(dev_handle)
        if intf != 0:
            raise _invalid(f"no interface {intf}")
        with self._lock:
            if enumeration.claimed_by not in (None, dev_handle):
                raise usb.core.USBError("Resource busy", errno=errno.EBUSY)
            enumeration.claimed_by = dev_handle

    def release_interface(self, dev_handle: "_Handle", intf) -> None:
        with self._lock:
            if dev_handle.enumeration.claimed_by is dev_handle:
                dev_handle.enumeration.claimed_by = None

    def bulk_write(self, dev_handle, ep, intf, data, timeout) -> int:
        enumeration = _present(dev_handle)
        if ep != EP_OUT:
            raise _invalid(f"endpoint {ep:#x} is not bulk OUT")
        try:
            delivered = enumeration.to_device.put(data.tobytes(), _seconds(timeout))
        except _Unplugged:
            raise _no_device() from None
        if not delivered:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        return len(data)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout) -> int:
        if ep != EP_IN:
            raise _invalid(f"endpoint {ep:#x} is not bulk IN")
        try:  # packets the device sent before it left are still delivered
            packet = dev_handle.enumeration.to_host.take(len(buff), _seconds(timeout))
        except _Unplugged:
            raise _no_device() from None
        if packet is None:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        memoryview(buff)[:len(packet)] = packet
        return len(packet)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout) -> int:
        enumeration = _present(dev_handle)
        is_get_string = (bmRequestType == usb.util.CTRL_IN and bRequest == GET_DESCRIPTOR
                         and wValue >> 8 == usb.util.DESC_TYPE_STRING)
        descriptor = _string_descriptor(enumeration, wValue & 0xFF) if is_get_string else None
        if descriptor is None:
            raise usb.core.USBError("Pipe error", errno=errno.EPIPE)  # a stall: request not supported
        count = min(len(descriptor), len(data))
        memoryview(data)[:count] = descriptor[:count]
        return count


class _Unplugged(Exception):
    """The pipe's enumeration ended."""


class _Pipe:
    """Packets one way between host and handset, at most PIPE_DEPTH waiting."""

    def __init__(self):
        self._packets: deque[bytes | memoryview] = deque()
        self._changed = threading.Condition()
        self._closed = False

    def put(self, packet: bytes, timeout: float | None) -> bool:
        """False if the reader took nothing for `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._closed or len(self._packets) < PIPE_DEPTH, timeout):
                return False
            if self._closed:
                raise _Unplugged
            self._packets.append(packet)
            self._changed.notify_all()
            return True

    def take(self, limit: int, timeout: float | None) -> bytes | memoryview | None:
        """Up to `limit` bytes of the next packet (the rest stays queued); None on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._closed or self._packets, timeout):
                return None
            if not self._packets:
                raise _Unplugged
            packet = self._packets[0]
            if len(packet) > limit:
                self._packets[0] = memoryview(packet)[limit:]
                packet = memoryview(packet)[:limit]
            else:
                self._packets.popleft()
            self._changed.notify_all()
            return packet

    def close(self, *, drain: bool) -> None:
        """No more packets go in; with `drain`, those queued can still be taken."""
        with self._changed:
            self._closed = True
            if not drain:
                self._packets.clear()
            self._changed.notify_all()


class _Enumeration:
    """One appearance of a handset on the bus, from its arrival to a reboot or unplug."""

    def __init__(self, port: "_Port", address: int):
        self.port = port
        self.address = address
        self.to_device = _Pipe()
        self.to_host = _Pipe()
        self.claimed_by: _Handle | None = None
        self.ended = False
        self.function = _function_of(port.handset)

    @property
    def gone(self) -> bool:
        return self.ended or _function_of(self.port.handset) != self.function

    def end(self, *, unplugged: bool) -> None:
        """A rebooting handset has finished sending its last response; an unplugged one has not."""
        self.ended = True
        self.to_device.close(drain=False)
        self.to_host.close(drain=not unplugged)


class _Handle:
    def __init__(self, enumeration: _Enumeration):
        self.enumeration = enumeration


class _Port:
    """A handset's socket on the hub, and the thread that is its USB function."""

    def __init__(self, bus: VirtualUsbBus, handset: Handset, number: int):
        self.bus = bus
        self.handset = handset
        self.number = number
        self.enumeration: _Enumeration | None = None
        self.unplugged = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"usb-{handset.serialno}")

    def _run(self) -> None:
        enumeration = self.enumeration
        while not self.unplugged.is_set():
            if enumeration is None:
                if _function_of(self.handset):
                    enumeration = self.bus._enumerate(self)
                else:
                    self.unplugged.wait(ONLINE_POLL)
                continue
            if enumeration.function == MEDIA_INTERFACE:
                while not enumeration.gone and not self.unplugged.is_set():
                    self.unplugged.wait(ONLINE_POLL)
                self.bus._leave(self, enumeration)
                enumeration = None
                continue
            link = _DeviceLink(enumeration)
            serve = self.handset.serve if enumeration.function == FASTBOOT_INTERFACE else self.handset.serve_adb
            # A session ends on a reboot, an unplug or a host error; the USB function stays
            # up through host errors, as fastboot on a phone keeps reading its endpoint.
            while not enumeration.gone:
                serve(link)
            self.bus._leave(self, enumeration)
            enumeration = None


class _DeviceLink(Transport):
    """The handset's end of its endpoints."""

    def __init__(self, enumeration: _Enumeration):
        self._enumeration = enumeration
        self.address = f"usb-device:{enumeration.port.handset.serialno}@{enumeration.address}"

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        try:
            delivered = self._enumeration.to_host.put(bytes(data), timeout)
        except _Unplugged:
            raise LinkClosed(f"{self.address}: off the bus") from None
        if not delivered:
            raise LinkTimeout(f"{self.address}: the host read nothing for {timeout:g} s")

    def read(self, max_size: int, timeout: float) -> bytes:
        try:
            packet = self._enumeration.to_device.take(max_size, timeout)
        except _Unplugged:
            raise LinkClosed(f"{self.address}: off the bus") from None
        if packet is None:
            raise LinkTimeout(f"{self.address}: the host sent nothing for {timeout:g} s")
        return bytes(packet)

    def close(self) -> None:
        pass  # the endpoints belong to the enumeration, which outlives a session


def _string_descriptor(enumeration: _Enumeration, index: int) -> bytes | None:
    if index == 0:
        return struct.pack("<BBH", 4, usb.util.DESC_TYPE_STRING, US_ENGLISH)
    profile = enumeration.port.handset.profile
    text = {_MANUFACTURER: profile.manufacturer, _PRODUCT: profile.product,
            _SERIAL: profile.serialno, _INTERFACE_NAME: _INTERFACE_NAMES.get(enumeration.function)}.get(index)
    if text is None:
        return None
    encoded = text.encode("utf-16-le")[:252]
    return bytes((2 + len(encoded), usb.util.DESC_TYPE_STRING)) + encoded


def _function_of(handset: Handset) -> tuple[int, int, int] | None:
    """The interface the handset offers now: fastboot, ADB (recovery's, or Android's with USB
    debugging on), media (a phone in Android with debugging off), or none (off the bus)."""
    if handset.online:
        return FASTBOOT_INTERFACE
    if handset.adb_online:
        return ADB_INTERFACE
    if handset.mode is Mode.ANDROID and not handset.family.returns_from_os:
        return MEDIA_INTERFACE
    return None


_INTERFACE_NAMES = {FASTBOOT_INTERFACE: "fastboot", ADB_INTERFACE: "ADB Interface", MEDIA_INTERFACE: "MTP"}


def _present(dev_handle: _Handle) -> _Enumeration:
    if dev_handle.enumeration.gone:
        raise _no_device()
    return dev_handle.enumeration


def _no_device() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", errno=errno.ENODEV)


def _invalid(why: str) -> usb.core.USBError:
    return usb.core.USBError(f"Invalid parameter: {why}", errno=errno.EINVAL)


def _seconds(timeout_ms: int) -> float | None:
    return timeout_ms / 1000 if timeout_ms else None  # 0 waits forever, as in libusb
