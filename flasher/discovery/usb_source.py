"""USB handsets: every fastboot interface on the bus, asked who it is once per enumeration.

A handset is opened only the first time an enumeration (bus, address, serial) is seen;
later scans reuse that answer. Polling therefore does not keep claiming a handset another
program may want, and a reboot (which re-enumerates under a new address) is asked again.
"""

import dataclasses

import usb.backend

from ..errors import FlasherError
from ..transport import usb as usb_link
from .found import FoundDevice
from .probe import PROBE_TIMEOUT, identify

UNREADABLE_DETAIL = "serial number unreadable: no permission? run `tsuf doctor`"


class UsbSource:
    name = "usb"

    def __init__(self, backend: usb.backend.IBackend | None = None, *, probe_timeout: float = PROBE_TIMEOUT):
        self._backend = backend
        self._probe_timeout = probe_timeout
        self._known: dict[tuple[int, int, str], FoundDevice] = {}

    def scan(self) -> list[FoundDevice]:
        backend = self._backend or usb_link.current_backend()
        known, self._known = self._known, {}
        found = []
        for info in usb_link.find_fastboot_devices(backend):
            if info.serial is None:
                found.append(FoundDevice(f"usb:?{info.bus}.{info.address}", "usb", "unknown",
                                         vendor=info.vendor_name, detail=UNREADABLE_DETAIL))
                continue
            enumeration = (info.bus, info.address, info.serial)
            device = known.get(enumeration) or self._ask(info, backend)
            if device.mode != "unknown":
                self._known[enumeration] = device
            found.append(device)
        return found

    def _ask(self, info: usb_link.UsbDeviceInfo, backend) -> FoundDevice:
        try:
            transport = usb_link.UsbTransport.open(info.serial, backend=backend, timeout=self._probe_timeout)
            device = identify(transport, link="usb", timeout=self._probe_timeout)
        except FlasherError as exc:  # in use, gone, or not answering: list it without asking
            return FoundDevice(f"usb:{info.serial}", "usb", "unknown", info.serial,
                               vendor=info.vendor_name, detail=str(exc))
        # The descriptor is the serial usb: addresses match; getvar may differ on odd bootloaders.
        return dataclasses.replace(device, serialno=info.serial, vendor=info.vendor_name)
