"""The links ADB runs on: `tcp:HOST[:PORT]` (default 5555) and `usb:SERIAL`.

The address says where, the caller says which protocol: `tcp:` and `usb:` mean
ADB here because the caller asked for ADB. Both reuse flasher/transport: over
TCP, ADB is a plain byte stream on the fastboot TCP socket code (deadlines,
errors) without fastboot's FB01 handshake and length frames; over USB it is the
pyusb link claiming the interface of class 0xFF/0x42/0x01 instead of fastboot's.
"""

import time

from ..transport.address import Address, parse_address
from ..transport.base import Transport
from ..transport.errors import BadAddress, UnsupportedLink
from ..transport.tcp import TcpTransport

DEFAULT_PORT = 5555
ADB_PORT_OFFSET = 1
"""A network handset's ADB listens beside its fastboot port: 5554 -> 5555."""

NOT_FOUND_HINT = ("Check that the handset shows recovery (sideload) and uses a data cable, then try again; "
                  "on Linux its ADB interface needs the same udev rule as fastboot.")


class AdbTcpTransport(TcpTransport):
    """ADB over TCP: the socket as a byte stream. ADB's CNXN is the greeting, so there is
    no handshake, and a read returns exactly what the codec asked for (it knows each
    message part's length), within the deadline."""

    def handshake(self, *, timeout: float = 0.0) -> int:
        return 0

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        self._send(data, time.monotonic() + timeout)

    def read(self, max_size: int, timeout: float) -> bytes:
        return self._recv_exact(max_size, time.monotonic() + timeout)


def parse_adb_address(text: str) -> Address:
    """`tcp:HOST[:PORT]` (PORT 5555 when absent) or `usb:SERIAL`."""
    address = parse_address(text)
    if address.scheme not in ("tcp", "usb"):
        raise UnsupportedLink(f"{text}: ADB runs over tcp: and usb: links only",
                              hint="Use tcp:HOST[:PORT] or usb:SERIAL.")
    if address.scheme == "tcp" and not _names_port(text):
        return Address("tcp", address.target, DEFAULT_PORT)
    return address


def adb_address_for(fastboot_address: str) -> str:
    """Where a handset's recovery answers ADB, from where its bootloader answers fastboot:
    `tcp:H:P` -> `tcp:H:P+1`; over USB the same serial re-enumerates with the ADB interface."""
    address = parse_address(fastboot_address)
    if address.scheme == "usb":
        return fastboot_address
    if address.scheme != "tcp":
        raise UnsupportedLink(f"{fastboot_address}: a handset on this link has no ADB; recovery answers on "
                              "tcp: and usb: only")
    if address.port + ADB_PORT_OFFSET > 0xFFFF:
        raise BadAddress(f"{fastboot_address}: no port follows {address.port} for ADB")
    return str(Address("tcp", address.target, address.port + ADB_PORT_OFFSET))


def open_adb_transport(text: str, *, timeout: float = 5.0) -> Transport:
    address = parse_adb_address(text)
    if address.scheme == "tcp":
        return AdbTcpTransport.connect(address.target, address.port, timeout=timeout)
    from ..transport.usb import ADB_INTERFACE, UsbDeviceNotFound, UsbTransport
    try:
        return UsbTransport.open(address.target, timeout=timeout, interface_class=ADB_INTERFACE)
    except UsbDeviceNotFound as exc:
        exc.hint = NOT_FOUND_HINT
        raise


def _names_port(text: str) -> bool:
    rest = text.partition(":")[2]
    if rest.startswith("["):
        return "]:" in rest
    return ":" in rest
