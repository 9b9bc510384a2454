"""Fastboot over TCP: an `FBnn` handshake, then 8-byte big-endian length frames.

The framing is the same in both directions, so the virtual handset wraps its
accepted sockets in this class too.
"""

import contextlib
import errno
import ipaddress
import mmap
import os
import socket
import struct
import time

from .base import FileSpan, Transport
from .errors import ConnectFailed, HandshakeFailed, LinkClosed, LinkTimeout, SourceEnded, TransportError

PROTOCOL_VERSION = 1
HANDSHAKE_TIMEOUT = 2.0
_FRAME_HEADER = struct.Struct(">Q")
_SMALL_WRITE = 64 * 1024
_SPAN_BUFFER = 1 << 20


def handshake_bytes(version: int = PROTOCOL_VERSION) -> bytes:
    return b"FB%02d" % version


def parse_handshake(data: bytes) -> int:
    """The peer's protocol version, or HandshakeFailed."""
    if len(data) != 4 or data[:2] != b"FB" or not data[2:].isdigit():
        raise HandshakeFailed(f"peer answered {data!r} instead of a fastboot handshake")
    version = int(data[2:])
    if version < 1:
        raise HandshakeFailed(f"peer speaks fastboot-over-TCP version {version}; 1 or newer is needed")
    return version


def _is_loopback(sock: socket.socket) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        return ipaddress.ip_address(sock.getpeername()[0]).is_loopback
    except OSError:  # not connected
        return False


def _name(span: FileSpan) -> str:
    return getattr(span.file, "name", "the image")


def _map(span: FileSpan, address: str) -> mmap.mmap | None:
    """A read-only mapping from `span`'s page to its end; None for a file that cannot be
    mapped (no descriptor, a file system without mmap, an empty span)."""
    start = span.offset - span.offset % mmap.ALLOCATIONGRANULARITY
    try:
        descriptor = span.file.fileno()
        size = os.fstat(descriptor).st_size
    except (OSError, ValueError):
        return None
    if size < span.offset + span.length:
        raise SourceEnded(f"{_name(span)} ended at byte {size} while being sent; nothing of it went to {address}")
    if not span.length:
        return None
    try:
        return mmap.mmap(descriptor, span.offset + span.length - start, offset=start, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """A connected socket; an IP address is used as it is, sparing the resolver's first call
    (about a millisecond in a fresh process)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return socket.create_connection((host, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class TcpTransport(Transport):
    sends_files = True
    link_rate = 100e6  # gigabit Ethernet
    LOOPBACK_RATE = 1e9  # memory copies: the peer runs on this machine (an emulator)

    def __init__(self, sock: socket.socket, address: str):
        self.address = address
        self._sock = sock
        if _is_loopback(sock):
            self.link_rate = self.LOOPBACK_RATE
        self._frame_left = 0
        self._in_frame = False
        self._span_buffer: memoryview | None = None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @classmethod
    def connect(cls, host: str, port: int, *, timeout: float = 5.0) -> "TcpTransport":
        address = f"tcp:{host}:{port}"
        try:
            sock = _connect(host, port, timeout)
        except socket.timeout:
            raise ConnectFailed(f"{address}: no answer within {timeout:g} s") from None
        except OSError as exc:
            raise ConnectFailed(f"{address}: cannot connect ({exc.strerror or exc})") from None
        transport = cls(sock, address)
        try:
            transport.handshake(timeout=min(timeout, HANDSHAKE_TIMEOUT))
        except BaseException:
            transport.close()
            raise
        return transport

    def handshake(self, *, timeout: float = HANDSHAKE_TIMEOUT) -> int:
        """Exchange `FB01` with the peer; both sides call this."""
        deadline = time.monotonic() + timeout
        try:
            self._send(handshake_bytes(), deadline)
            reply = self._recv_exact(4, deadline)
        except LinkTimeout:
            raise HandshakeFailed(f"{self.address}: no fastboot handshake within {timeout:g} s") from None
        except LinkClosed:
            raise HandshakeFailed(
                f"{self.address}: the device closed the connection before the handshake",
                hint="It may be rebooting, or serving another host: wait for it to settle, then try again.",
            ) from None
        return min(parse_handshake(reply), PROTOCOL_VERSION)

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        header = _FRAME_HEADER.pack(len(data))
        if len(data) <= _SMALL_WRITE:
            self._send(header + bytes(data), deadline)
        else:
            self._send(header, deadline)
            self._send(data, deadline)

    def write_span(self, span: FileSpan, timeout: float) -> None:
        # Sent from a read-only mapping of the file, as the stock client sends: the kernel copies
        # the file's cached pages into the socket, once. Only the kernel touches the mapping, so a
        # file cut short meanwhile fails the send (EFAULT) rather than killing us (SIGBUS).
        deadline = time.monotonic() + timeout
        mapping = _map(span, self.address)
        if mapping is None:
            self._write_span_buffered(span, deadline)
            return
        whole = memoryview(mapping)
        data = whole[span.offset % mmap.ALLOCATIONGRANULARITY:]
        try:
            self._send(_FRAME_HEADER.pack(span.length), deadline)
            self._send(data, deadline)
        except SourceEnded:
            raise SourceEnded(f"{_name(span)} was cut short while being sent; {self.address} is left mid-frame") from None
        finally:
            data.release()  # released explicitly: a traceback may still hold a view
            whole.release()
            mapping.close()

    def _write_span_buffered(self, span: FileSpan, deadline: float) -> None:
        """For a file that cannot be mapped: read into one buffer of our own and send from it."""
        self._send(_FRAME_HEADER.pack(span.length), deadline)
        if self._span_buffer is None:
            self._span_buffer = memoryview(bytearray(_SPAN_BUFFER))
        span.file.seek(span.offset)
        sent = 0
        while sent < span.length:
            count = span.file.readinto(self._span_buffer[:min(_SPAN_BUFFER, span.length - sent)])
            if not count:
                raise SourceEnded(f"{_name(span)} ended at byte {span.offset + sent} while being sent; "
                                  f"{self.address} is left mid-frame")
            self._send(self._span_buffer[:count], deadline)
            sent += count

    def read(self, max_size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        if not self._in_frame:
            (self._frame_left,) = _FRAME_HEADER.unpack(self._recv_exact(_FRAME_HEADER.size, deadline))
            self._in_frame = True
        count = min(max_size, self._frame_left)
        data = self._recv_exact(count, deadline)
        self._frame_left -= count
        self._in_frame = self._frame_left > 0
        return data

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def _send(self, data: bytes | memoryview, deadline: float) -> None:
        with self._sending(deadline):
            self._sock.sendall(data)

    @contextlib.contextmanager
    def _sending(self, deadline: float):
        """Send within `deadline`; socket failures become link errors."""
        try:
            self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
            yield
        except socket.timeout:
            raise LinkTimeout(f"{self.address}: peer stopped accepting data") from None
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raise LinkClosed(f"{self.address}: connection closed by the peer") from None
        except OSError as exc:
            if exc.errno == errno.EFAULT:  # a mapped file shrank under the send
                raise SourceEnded(f"{self.address}: the data being sent was cut short") from None
            raise TransportError(f"{self.address}: send failed ({exc.strerror or exc})") from None

    def _recv_exact(self, count: int, deadline: float) -> bytes:
        buffer = bytearray(count)
        view = memoryview(buffer)
        got = 0
        try:
            while got < count:
                self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
                n = self._sock.recv_into(view[got:])
                if n == 0:
                    raise LinkClosed(f"{self.address}: connection closed by the peer")
                got += n
        except socket.timeout:
            raise LinkTimeout(f"{self.address}: no data from the peer in time") from None
        except (ConnectionResetError, ConnectionAbortedError):
            raise LinkClosed(f"{self.address}: connection reset by the peer") from None
        except OSError as exc:
            raise TransportError(f"{self.address}: receive failed ({exc.strerror or exc})") from None
        return bytes(buffer) if count < _SMALL_WRITE else buffer
