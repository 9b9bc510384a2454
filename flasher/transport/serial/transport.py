"""Fastboot over a serial port (`serial:/dev/ttyACM0`, `serial:COM7`) through the link layer.

Opening tries the download-mode handshake first. If nothing answers, the port
may be the handset's AT port: it is identified, told to reboot to download
mode with its vendor's command, and the handshake is tried again until the
connect timeout runs out.
"""

import time

import serial

from ..base import Transport
from ..errors import ConnectFailed, HandshakeFailed, LinkTimeout, SerialPortGone
from . import at
from .link import Link

DEFAULT_BAUDRATE = 921600  # USB CDC-ACM ports ignore it; a real UART needs it to match
PROBE_HANDSHAKE = 0.3
_POLL = 0.01  # pyserial's read timeout (fine enough for the link's stall gap); longer waits loop
_WRITE_TIMEOUT = 5.0


class PortStream:
    """A pyserial port as the link's byte stream."""

    def __init__(self, port: serial.Serial, name: str):
        self.port = port
        self.name = name

    def read(self, max_size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        try:
            while True:
                data = self.port.read(max(1, min(self.port.in_waiting, max_size)))
                if data or time.monotonic() >= deadline:
                    return data
        except OSError as exc:  # SerialException is an OSError
            raise SerialPortGone(f"{self.name}: the port went away ({exc})") from None

    def write(self, data: bytes, timeout: float) -> None:
        try:
            self.port.write(data)
        except serial.SerialTimeoutException:
            raise LinkTimeout(f"{self.name}: the port stopped accepting data") from None
        except OSError as exc:
            raise SerialPortGone(f"{self.name}: the port went away ({exc})") from None


def open_port(path: str, *, baudrate: int = DEFAULT_BAUDRATE) -> serial.Serial:
    try:
        port = serial.Serial(path, baudrate=baudrate, timeout=_POLL, write_timeout=_WRITE_TIMEOUT)
    except (OSError, ValueError) as exc:
        raise ConnectFailed(f"serial:{path}: cannot open ({exc})",
                            hint="Check the port name and that you may use it (the dialout group on Linux).") \
            from None
    port.reset_input_buffer()
    return port


class SerialTransport(Transport):
    link_rate = 1e6  # faster than any UART a device offers (921600 baud: 92 kB/s)

    def __init__(self, port: serial.Serial, address: str):
        self.address = address
        self._port = port
        self.link = Link(PortStream(port, address), name=address)

    @classmethod
    def open(cls, path: str, *, timeout: float = 5.0, baudrate: int = DEFAULT_BAUDRATE,
             switch_to_download: bool = True) -> "SerialTransport":
        transport = cls(open_port(path, baudrate=baudrate), f"serial:{path}")
        try:
            transport.connect(timeout, switch_to_download=switch_to_download)
        except BaseException:
            transport.close()
            raise
        return transport

    def connect(self, timeout: float, *, switch_to_download: bool = True) -> None:
        deadline = time.monotonic() + timeout
        try:
            self.link.hello(min(timeout, PROBE_HANDSHAKE))
            return
        except HandshakeFailed:
            if not switch_to_download:
                raise
        identity = at.identify(self._port, deadline=max(min(at.IDENTIFY_DEADLINE, deadline - time.monotonic()), 0))
        # Without a modem, a handset in download mode slower than the probe (a busy host) may answer now.
        if identity is not None:
            at.reboot_to_download(self._port, identity)
        self._port.reset_input_buffer()
        try:
            self.link.hello(max(deadline - time.monotonic(), PROBE_HANDSHAKE))
        except HandshakeFailed:
            if identity is not None:
                raise
            raise HandshakeFailed(f"{self.address}: neither download mode nor a modem answered",
                                  hint="Check that this is the handset's port and that it is switched on.") from None

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        self.link.send(data, timeout)

    def read(self, max_size: int, timeout: float) -> bytes:
        return self.link.receive(max_size, timeout)

    def close(self) -> None:
        try:
            self._port.close()
        except OSError:
            pass
