"""USB handsets: every fastboot interface, and every ADB one (recovery), asked who it is
once per enumeration.

A handset is opened only the first time an enumeration (bus, address, serial) is seen;
later scans reuse that answer. Polling therefore does not keep claiming a handset another
program may want, and a reboot (which re-enumerates under a new address) is asked again.
A handset whose address the caller says is busy (`busy`: a session of its own holds it) is
listed without being opened at all: between two of the session's connections a probe
could take the interface, or greet recovery in the middle of the session's conversation.
"""

import usb.backend

from ..errors import FlasherError
from ..transport import usb as usb_link
from .found import PROBE_TIMEOUT, FoundDevice

UNREADABLE_DETAIL = "serial number unreadable: no permission? run `tsuf doctor`"
BUSY_DETAIL = "in use by a session here: not asked"


def find_handsets(backend: usb.backend.IBackend) -> list[tuple[usb_link.UsbDeviceInfo, tuple[int, int, int]]]:
    """Every device with a fastboot or an ADB interface, with that interface's class."""
    return [(info, kind) for kind in (usb_link.FASTBOOT_INTERFACE, usb_link.ADB_INTERFACE)
            for info in usb_link.find_fastboot_devices(backend, kind)]


class UsbSource:
    name = "usb"

    def __init__(self, backend: usb.backend.IBackend | None = None, *, probe_timeout: float = PROBE_TIMEOUT):
        self._backend = backend
        self._probe_timeout = probe_timeout
        self._known: dict[tuple[int, int, str], FoundDevice] = {}
        self.busy: set[str] = set()
        """`usb:SERIAL` addresses not to open: listed from an earlier answer, or as not asked."""

    def scan(self) -> list[FoundDevice]:
        backend = self._backend or usb_link.current_backend()
        known, self._known = self._known, {}
        found = []
        for info, interface_class in find_handsets(backend):
            if info.serial is None:
                found.append(FoundDevice(f"usb:?{info.bus}.{info.address}", "usb", "unknown",
                                         vendor=info.vendor_name, detail=UNREADABLE_DETAIL))
                continue
            enumeration = (info.bus, info.address, info.serial)
            device = known.get(enumeration)
            if device is None and f"usb:{info.serial}" in self.busy:
                device = _unasked(info, BUSY_DETAIL)
            elif device is None:
                device, answered = self._ask(info, interface_class, backend)
                if answered:
                    self._known[enumeration] = device
            else:
                self._known[enumeration] = device
            found.append(device)
        return found

    def _ask(self, info: usb_link.UsbDeviceInfo, interface_class, backend) -> tuple[FoundDevice, bool]:
        """What the handset says, and whether it said it (True) or could not be asked (False)."""
        from .probe import identify, identify_adb  # only once a handset is plugged in
        address = f"usb:{info.serial}"
        try:
            transport = usb_link.UsbTransport.open(info.serial, backend=backend, timeout=self._probe_timeout,
                                                   interface_class=interface_class)
            if interface_class == usb_link.ADB_INTERFACE:
                device = identify_adb(transport, address=address, link="usb", serialno=info.serial,
                                      timeout=self._probe_timeout)
            else:
                device = identify(transport, link="usb", timeout=self._probe_timeout)
        except FlasherError as exc:  # in use, gone, or not answering: list it without asking
            return _unasked(info, str(exc)), False
        # The descriptor is the serial usb: addresses match; getvar may differ on odd bootloaders.
        return FoundDevice(address, "usb", device.mode, info.serial, device.product, info.vendor_name,
                           device.detail), True


def _unasked(info: usb_link.UsbDeviceInfo, detail: str) -> FoundDevice:
    return FoundDevice(f"usb:{info.serial}", "usb", "unknown", info.serial, vendor=info.vendor_name, detail=detail)
