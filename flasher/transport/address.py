"""Device addresses as the AOSP client spells them, and the transport for each.

`tcp:HOST[:PORT]` (default 5554), `udp:HOST[:PORT]`, `usb:SERIAL`, `serial:PATH`.
IPv6 hosts go in brackets: `tcp:[::1]:5554`.
"""

from dataclasses import dataclass

from .base import Transport
from .errors import BadAddress, UnsupportedLink

DEFAULT_NETWORK_PORT = 5554
SCHEMES = ("tcp", "udp", "usb", "serial")


@dataclass(frozen=True)
class Address:
    scheme: str
    target: str
    port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return f"{self.scheme}:{self.target}"
        host = f"[{self.target}]" if ":" in self.target else self.target
        return f"{self.scheme}:{host}:{self.port}"


def parse_address(text: str) -> Address:
    scheme, found, rest = text.partition(":")
    if not found or scheme not in SCHEMES or not rest:
        raise BadAddress(f"{text!r} is not a device address")
    if scheme in ("usb", "serial"):
        return Address(scheme, rest)
    return Address(scheme, *_host_port(text, rest))


def _host_port(text: str, rest: str) -> tuple[str, int]:
    if rest.startswith("["):
        host, found, tail = rest[1:].partition("]")
        if not found or (tail and not tail.startswith(":")):
            raise BadAddress(f"{text!r}: unbalanced brackets around the host")
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = rest.partition(":")
    if not host:
        raise BadAddress(f"{text!r} has no host")
    if not port_text:
        return host, DEFAULT_NETWORK_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadAddress(f"{text!r}: {port_text!r} is not a port number")
    return host, int(port_text)


def open_transport(text: str, *, connect_timeout: float = 5.0) -> Transport:
    """Connect to the device at address `text`."""
    address = parse_address(text)
    if address.scheme == "tcp":
        from .tcp import TcpTransport
        return TcpTransport.connect(address.target, address.port, timeout=connect_timeout)
    if address.scheme == "udp":
        from .udp import UdpTransport
        return UdpTransport.connect(address.target, address.port, timeout=connect_timeout)
    if address.scheme == "usb":
        from .usb import UsbTransport
        return UsbTransport.open(address.target, timeout=connect_timeout)
    if address.scheme == "serial":
        from .serial.transport import SerialTransport
        return SerialTransport.open(address.target, timeout=connect_timeout)
    raise UnsupportedLink(f"{address.scheme}: links are not supported by this version of TSUF")
