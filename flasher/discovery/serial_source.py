"""Handsets on serial ports: modem (AT) ports and ports already in download mode.

The system's ports come from `serial.tools.list_ports`, USB ones only (a phone's
modem port, a USB-serial adapter): a built-in UART (/dev/ttyS0) holds no handset and
would take a whole probe to stay silent. Pseudo-terminals never appear there (nor do
some adapters), so callers may name more paths, which are always probed. Every
port is probed at once on its own thread: AT identification first (text a
non-handset port shrugs off), then the download-mode handshake, all within
about `probe_timeout`. A port that answers neither is left out.
"""

import dataclasses
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from serial.tools import list_ports

from .found import FoundDevice

LINK = "serial"
_AT_SHARE = 0.6  # of probe_timeout; the download-mode handshake gets the rest


def scan_serial_ports(ports: Iterable[str] | None = None, probe_timeout: float = 1.0) -> list[FoundDevice]:
    """The handsets on the system's USB serial ports plus `ports` (paths such as /dev/pts/3 or COM7)."""
    paths = list(dict.fromkeys(usb_ports() + list(ports or ())))
    if not paths:
        return []
    with ThreadPoolExecutor(len(paths)) as pool:
        found = list(pool.map(lambda path: probe_serial_port(path, probe_timeout), paths))
    return [device for device in found if device is not None]


def usb_ports() -> list[str]:
    """The system's serial ports on USB: the only ones a handset can be behind unless named."""
    return [info.device for info in list_ports.comports() if info.vid is not None]


def probe_serial_port(path: str, probe_timeout: float = 1.0) -> FoundDevice | None:
    # The serial link and the probe load only when there is a port to ask: a scan that finds
    # none (most PCs) keeps `tsuf devices` quick.
    from ..transport.errors import ConnectFailed, TransportError
    from ..transport.serial import at
    from ..transport.serial.transport import SerialTransport, open_port
    from .probe import identify
    address = f"{LINK}:{path}"
    try:
        port = open_port(path)
    except ConnectFailed as exc:
        return FoundDevice(address, LINK, "unknown", detail=str(exc))
    transport = SerialTransport(port, address)
    try:
        identity = at.identify(port, deadline=probe_timeout * _AT_SHARE)
        if identity is not None:
            return FoundDevice(address, LINK, "at", identity.serialno, identity.model, identity.manufacturer,
                               detail=_at_detail(identity))
        transport.connect(probe_timeout * (1 - _AT_SHARE), switch_to_download=False)
        return dataclasses.replace(identify(transport, link=LINK, timeout=probe_timeout), mode="download")
    except TransportError:
        return None
    finally:
        transport.close()


def _at_detail(identity) -> str:
    """IMEI and baseband of an `at.AtIdentity`."""
    parts = [f"IMEI {identity.imei}" if identity.imei else "", f"baseband {identity.revision}" if identity.revision else ""]
    return ", ".join(part for part in parts if part)
