"""Fastboot over USB: one bulk transfer per packet, through pyusb.

A fastboot device is any USB device with an interface of class/subclass/protocol
0xFF/0x42/0x03 holding one bulk IN and one bulk OUT endpoint; no vendor list is
needed. `usb:SERIAL` picks one by its serial number string.

libusb comes from the libusb-package wheel (Windows, macOS, Linux), or from the
bundle root in a frozen build. `use_backend` routes `usb:` addresses through
another pyusb backend instead; the virtual USB bus uses it, so every caller that
opens addresses (the CLI, wait_for_fastboot, the update session) reaches virtual handsets.
"""

import array
import errno
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import usb.backend
import usb.core
import usb.util

from .base import Transport
from .errors import ConnectFailed, LinkClosed, LinkTimeout, TransportError

FASTBOOT_INTERFACE = (0xFF, 0x42, 0x03)
ADB_INTERFACE = (0xFF, 0x42, 0x01)
"""Recovery's ADB (sideload): `UsbTransport.open(serial, interface_class=ADB_INTERFACE)`."""
_INTERFACE_NAMES = {FASTBOOT_INTERFACE: "fastboot", ADB_INTERFACE: "ADB"}
MAX_BULK_WRITE = 1 << 20
"""The largest single bulk write (what the Windows AOSP client uses)."""

KNOWN_VENDORS = {
    0x18D1: "Google", 0x19D2: "ZTE", 0x05C6: "Qualcomm", 0x04E8: "Samsung", 0x12D1: "Huawei",
    0x2717: "Xiaomi", 0x22B8: "Motorola", 0x0FCE: "Sony", 0x1004: "LG", 0x0BB4: "HTC",
}

ACCESS_HINT = ("On Linux install the udev rule from resources/udev/ (see the file) and replug the "
               "handset; on Windows bind its fastboot interface to WinUSB (e.g. with Zadig).")
NOT_FOUND_HINT = ("Check that the handset shows fastboot mode and uses a data cable (not a charge-only "
                  "one), then try again. " + ACCESS_HINT)
BUSY_HINT = "Another program (adb, fastboot, another TSUF) holds the handset: close it, then try again."
UNPLUGGED_HINT = ("The handset was unplugged or rebooted. Reconnect it, wait for fastboot mode, "
                  "then try again.")


class UsbUnavailable(TransportError):
    hint = "Reinstall TSUF: it ships libusb in the libusb-package module (or install libusb-1.0)."


class UsbDeviceNotFound(ConnectFailed):
    hint = NOT_FOUND_HINT


@dataclass(frozen=True)
class UsbDeviceInfo:
    """A fastboot device on the bus; `serial` is None when it cannot be read (permissions)."""

    serial: str | None
    vendor_id: int
    product_id: int
    vendor_name: str
    bus: int
    address: int

    def __str__(self) -> str:
        serial = self.serial if self.serial is not None else "(serial unreadable: no permission?)"
        return (f"{serial} ({self.vendor_name} {self.vendor_id:04x}:{self.product_id:04x}, "
                f"bus {self.bus} address {self.address})")


_backend_override: usb.backend.IBackend | None = None


def use_backend(backend: usb.backend.IBackend | None) -> None:
    """Open `usb:` addresses through `backend` from now on; None goes back to libusb."""
    global _backend_override
    _backend_override = backend


def current_backend() -> usb.backend.IBackend:
    return _backend_override if _backend_override is not None else libusb_backend()


def libusb_backend() -> usb.backend.IBackend:
    if getattr(sys, "frozen", False):
        import usb.backend.libusb1  # PyInstaller puts the library in the bundle root
        backend = usb.backend.libusb1.get_backend()
    else:
        try:
            import libusb_package
        except ImportError:
            backend = None
        else:
            backend = libusb_package.get_libusb1_backend()
    if backend is None:
        raise UsbUnavailable("USB links need libusb, and no libusb library could be loaded")
    return backend


def find_fastboot_devices(backend: usb.backend.IBackend | None = None,
                          interface_class: tuple[int, int, int] = FASTBOOT_INTERFACE) -> list[UsbDeviceInfo]:
    """Every fastboot device on the bus, any vendor (or, by `interface_class`, every ADB one)."""
    return [_describe(device) for device, _interface in _devices_with(backend or current_backend(), interface_class)]


class UsbTransport(Transport):
    def __init__(self, device: usb.core.Device, interface: usb.core.Interface, serial: str):
        self.address = f"usb:{serial}"
        self._device = device
        self._interface_number = interface.bInterfaceNumber
        self._in, self._out = _bulk_endpoints(interface)
        self._packet_size = self._in.wMaxPacketSize & 0x7FF
        self._pending = b""

    @classmethod
    def open(cls, serial: str, *, backend: usb.backend.IBackend | None = None,
             timeout: float = 5.0, interface_class: tuple[int, int, int] = FASTBOOT_INTERFACE) -> "UsbTransport":
        """Claim the fastboot interface (or another class, e.g. ADB_INTERFACE) of the device whose
        serial number is `serial`."""
        address = f"usb:{serial}"
        kind = _INTERFACE_NAMES.get(interface_class, "matching")
        found = []
        for device, interface in _devices_with(backend or current_backend(), interface_class):
            device.default_timeout = _milliseconds(timeout)
            info = _describe(device)
            if info.serial == serial:
                _claim(device, interface, address)
                return cls(device, interface, serial)
            found.append(str(info))
        listing = "; ".join(found) if found else "none"
        raise UsbDeviceNotFound(f"{address}: no {kind} device with that serial number "
                                f"({kind} devices found: {listing})")

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        for start in range(0, len(view), MAX_BULK_WRITE):
            chunk = array.array("B")
            chunk.frombytes(view[start:start + MAX_BULK_WRITE])  # pyusb passes arrays to libusb as they are
            written = self._transfer(self._out.write, chunk, deadline, "write")
            if written != len(chunk):
                raise TransportError(f"{self.address}: USB write sent {written} of {len(chunk)} bytes")

    def read(self, max_size: int, timeout: float) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:max_size], self._pending[max_size:]
            return data
        # A read must span whole packets, or a longer transfer overflows the buffer.
        buffer = usb.util.create_buffer(_round_up(max_size, self._packet_size))
        count = self._transfer(self._in.read, buffer, time.monotonic() + timeout, "read")
        data = memoryview(buffer)[:count].tobytes()
        self._pending = data[max_size:]
        return data[:max_size]

    def close(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        try:
            usb.util.release_interface(device, self._interface_number)
        except usb.core.USBError:
            pass  # an unplugged device has nothing left to release
        try:
            usb.util.dispose_resources(device)
        except usb.core.USBError:
            pass

    def _transfer(self, transfer, buffer: array.array, deadline: float, what: str) -> int:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkTimeout(f"{self.address}: no time left for a USB {what}")
        if self._device is None:
            raise LinkClosed(f"{self.address}: the link is closed")
        try:
            return transfer(buffer, _milliseconds(left))
        except usb.core.USBTimeoutError:
            raise LinkTimeout(f"{self.address}: USB {what} timed out") from None
        except usb.core.USBError as exc:
            if _unplugged(exc):
                raise LinkClosed(f"{self.address}: the handset left the bus during a USB {what}",
                                 hint=UNPLUGGED_HINT) from None
            raise TransportError(f"{self.address}: USB {what} failed ({exc})") from None


def seen_outside_fastboot(serial: str, backend: usb.backend.IBackend | None = None) -> bool:
    """Whether a device with this serial number is on the bus without a fastboot interface: a
    phone in Android shows its serial even with USB debugging off (as a media device)."""
    for device in usb.core.find(find_all=True, backend=backend or current_backend()):
        if _describe(device).serial == serial and _interface_of(device) is None:
            return True
    return False


def _devices_with(backend, interface_class: tuple[int, int, int] = FASTBOOT_INTERFACE
                  ) -> Iterator[tuple[usb.core.Device, usb.core.Interface]]:
    for device in usb.core.find(find_all=True, backend=backend):
        interface = _interface_of(device, interface_class)
        if interface is not None:
            yield device, interface


def _interface_of(device: usb.core.Device, interface_class: tuple[int, int, int] = FASTBOOT_INTERFACE
                  ) -> usb.core.Interface | None:
    try:
        for config in device:
            for interface in config:
                kind = (interface.bInterfaceClass, interface.bInterfaceSubClass, interface.bInterfaceProtocol)
                if kind == interface_class and _bulk_endpoints(interface):
                    return interface
    except usb.core.USBError:
        pass  # gone while being looked at
    return None


def _bulk_endpoints(interface: usb.core.Interface) -> tuple | None:
    """(IN, OUT) when the interface has exactly one bulk endpoint each way."""
    bulk = [ep for ep in interface if usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK]
    ins = [ep for ep in bulk if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_IN]
    outs = [ep for ep in bulk if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_OUT]
    return (ins[0], outs[0]) if len(ins) == 1 and len(outs) == 1 else None


def _describe(device: usb.core.Device) -> UsbDeviceInfo:
    try:
        serial = usb.util.get_string(device, device.iSerialNumber)
    except (usb.core.USBError, ValueError):  # pyusb says ValueError when it may not read strings
        serial = None
    finally:
        usb.util.dispose_resources(device)
    vendor = KNOWN_VENDORS.get(device.idVendor, "unknown vendor")
    return UsbDeviceInfo(serial, device.idVendor, device.idProduct, vendor, device.bus, device.address)


def _claim(device: usb.core.Device, interface: usb.core.Interface, address: str) -> None:
    try:
        wanted = device[interface.configuration].bConfigurationValue
        if _active_configuration(device) != wanted:
            device.set_configuration(wanted)
        usb.util.claim_interface(device, interface.bInterfaceNumber)
    except usb.core.USBError as exc:
        usb.util.dispose_resources(device)
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConnectFailed(f"{address}: no permission to use the handset ({exc})",
                                hint=ACCESS_HINT) from None
        if exc.errno == errno.EBUSY:
            raise ConnectFailed(f"{address}: the handset is in use ({exc})", hint=BUSY_HINT) from None
        if _unplugged(exc):
            raise ConnectFailed(f"{address}: the handset left the bus while connecting",
                                hint=UNPLUGGED_HINT) from None
        raise ConnectFailed(f"{address}: cannot claim the fastboot interface ({exc})") from None


def _active_configuration(device: usb.core.Device) -> int | None:
    try:
        return device.get_active_configuration().bConfigurationValue
    except usb.core.USBError:
        return None  # unconfigured; a real error shows again in set_configuration


def _unplugged(exc: usb.core.USBError) -> bool:
    return exc.errno == errno.ENODEV or "No such device" in str(exc)


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))  # 0 would mean "wait forever" to libusb


def _round_up(size: int, multiple: int) -> int:
    return max(multiple, -(-size // multiple) * multiple)
