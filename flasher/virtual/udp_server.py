"""Serves a virtual handset on a UDP port, as fastboot-over-UDP devices do.

The host drives every exchange; the device only answers host packets, once
each, with the same sequence number (and repeats its last answer when the host
repeats its last packet). `UdpDeviceLink` is the Transport the handset serves,
and its reads and writes run the socket in the handset's own thread: host data
is acknowledged only as the handset reads it, and a packet the handset writes
goes out one piece per empty packet the host sends to ask for it. Memory stays
at one read's worth of data plus one datagram.

UDP has no connection to close, and a host (the AOSP client) simply stops
sending when it is done. So when a host has been quiet between commands for
`PARK_AFTER` seconds the link leaves `Handset.serve`, freeing the handset for
its TCP hosts, and enters it again on the host's next command.
"""

import enum
import logging
from collections.abc import Callable
import socket
import threading
import time

from ..transport import udp_packets as packets
from ..transport.base import Transport
from ..transport.errors import LinkClosed, LinkTimeout, TransportError, UdpProtocolError
from ..transport.udp_packets import PacketId
from .handset import Handset

log = logging.getLogger("tsuf.virtual.udp")

PARK_AFTER = 1.0
_WAKE_INTERVAL = 0.2  # how often a waiting link checks that the server is still running
_RECEIVE_SIZE = 65535
_FINAL_STATUSES = (b"OKAY", b"FAIL")


class _Session(enum.Enum):
    NONE = "none"  # no handset session; a known host's next command starts one
    OPENED = "opened"  # a host's init was answered; a fresh session is due
    SERVING = "serving"  # Handset.serve is running on the link


class _SessionReplaced(TransportError):
    """A host sent a new init: the handset starts over with a fresh session."""


class _HostWentQuiet(TransportError):
    """The host said nothing after a command's final answer for a while."""


class UdpDeviceLink(Transport):
    """The device half of fastboot over UDP on a bound socket, for one host at a time."""

    def __init__(self, sock: socket.socket, *, online: Callable[[], bool],
                 max_packet_size: int = packets.DEVICE_MAX_PACKET_SIZE):
        self.address = "udp-peer:none"
        self._sock = sock
        self._online = online
        self._max_packet_size = max_packet_size
        self._piece_size = max_packet_size - packets.HEADER_SIZE
        self._expected = 0
        self._peer = None
        self._last_reply = b""
        self._session = _Session.NONE
        self._stopping = False
        self._heard_at = 0.0
        self._between_commands = True
        self._incoming = bytearray()
        self._incoming_complete = False
        self._outgoing: memoryview | None = None
        self._outgoing_sent = 0

    def wait_for_host(self) -> None:
        """Answer packets until a host opens a session or sends its next command."""
        while self._session is _Session.NONE:
            self._pump(None)
        self._session = _Session.SERVING
        self._between_commands = True
        self._heard_at = time.monotonic()

    def stop(self) -> None:
        self._stopping = True

    def read(self, max_size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self._incoming) < max_size and not self._incoming_complete:
            if (not self._incoming and self._between_commands
                    and time.monotonic() - self._heard_at >= PARK_AFTER):
                raise _HostWentQuiet(f"{self.address}: host quiet for {PARK_AFTER:g} s")
            self._pump(deadline)
        data = bytes(self._incoming[:max_size])
        del self._incoming[:max_size]
        if not self._incoming:
            self._incoming_complete = False
        return data

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._between_commands = bytes(data[:4]) in _FINAL_STATUSES
        self._outgoing = memoryview(data)
        self._outgoing_sent = 0
        try:
            while self._outgoing is not None:
                self._pump(deadline)
        finally:
            self._outgoing = None

    def close(self) -> None:
        """End the handset's session; the socket stays with the server."""
        if self._session is _Session.SERVING:
            self._session = _Session.NONE
        self._outgoing = None
        self._incoming.clear()  # what a broken-off session left; a resumed one starts at a command
        self._incoming_complete = False

    # -- packets ---------------------------------------------------------------

    def _pump(self, deadline: float | None) -> None:
        """Receive and answer at most one packet."""
        if self._stopping:
            raise LinkClosed(f"{self.address}: the server stopped")
        wait = _WAKE_INTERVAL
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkTimeout(f"{self.address}: the host sent nothing in time")
            wait = min(wait, left)
        try:
            self._sock.settimeout(wait)
            datagram, peer = self._sock.recvfrom(_RECEIVE_SIZE)
        except socket.timeout:
            return
        except ConnectionResetError:
            return  # Windows reports here that an earlier reply found no host
        except OSError as exc:
            raise LinkClosed(f"{self.address}: socket closed ({exc.strerror or exc})") from None
        if self._online():  # a rebooting handset hears nothing
            self._handle(datagram, peer)

    def _handle(self, datagram: bytes, peer) -> None:
        try:
            packet = packets.decode(datagram)
        except UdpProtocolError:
            return  # junk from the network; a host resends what matters
        if packet.id is PacketId.QUERY:
            self._sock.sendto(packets.encode(PacketId.QUERY, packet.sequence,
                                             packets.query_payload(self._expected)), peer)
            return
        from_host = peer == self._peer
        if from_host:
            self._heard_at = time.monotonic()
        if from_host and packet.sequence == packets.previous_sequence(self._expected):
            self._sock.sendto(self._last_reply, peer)  # our last answer was lost
        elif packet.sequence != self._expected:
            return
        elif packet.id is PacketId.INIT:
            self._open_session(packet, peer)
        elif packet.id is PacketId.FASTBOOT and from_host:
            if self._session is _Session.NONE and packet.payload:
                self._session = _Session.SERVING  # the known host's next command
            if self._session is _Session.SERVING:
                self._fastboot(packet)

    def _open_session(self, packet: packets.Packet, peer) -> None:
        try:
            host = packets.parse_init_payload(packet.payload)
        except UdpProtocolError as exc:  # answered, but the session and its sequence stay as they are
            self._sock.sendto(packets.encode(PacketId.ERROR, packet.sequence, str(exc).encode()), peer)
            return
        self._peer = peer
        self.address = f"udp-peer:{peer[0]}:{peer[1]}"
        self._heard_at = time.monotonic()
        self._piece_size = min(host.max_packet_size, self._max_packet_size) - packets.HEADER_SIZE
        device = packets.Init(packets.PROTOCOL_VERSION, self._max_packet_size)
        self._reply(packets.encode(PacketId.INIT, packet.sequence, device.encode()), peer)
        replaced = self._session is _Session.SERVING
        self._session = _Session.OPENED
        if replaced:
            raise _SessionReplaced(f"{self.address}: the host started over")

    def _fastboot(self, packet: packets.Packet) -> None:
        if packet.payload:
            if self._outgoing is not None or self._incoming_complete:
                return  # not reading now: the host resends once the handset reads
            self._incoming += packet.payload
            self._incoming_complete = not packet.continuation
            self._between_commands = False
            self._reply(packets.encode(PacketId.FASTBOOT, packet.sequence), self._peer)
        elif self._outgoing is not None:
            start = self._outgoing_sent
            piece = self._outgoing[start:start + self._piece_size]
            self._outgoing_sent += len(piece)
            more = self._outgoing_sent < len(self._outgoing)
            reply = packets.encode(PacketId.FASTBOOT, packet.sequence, piece, continuation=more)
            self._reply(reply, self._peer)
            if not more:
                self._outgoing = None
        # An empty packet while the handset has nothing to send goes unanswered; the host asks again.

    def _reply(self, datagram: bytes, peer) -> None:
        self._sock.sendto(datagram, peer)
        self._last_reply = datagram
        self._expected = packets.next_sequence(self._expected)


class HandsetUdpServer:
    def __init__(self, handset: Handset, host: str = "127.0.0.1", port: int = 0, *,
                 max_packet_size: int = packets.DEVICE_MAX_PACKET_SIZE):
        self.handset = handset
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self._sock = socket.socket(family, kind, proto)
        self._sock.bind(sockaddr)
        self.host, self.port = self._sock.getsockname()[:2]
        self._link = UdpDeviceLink(self._sock, online=lambda: handset.online, max_packet_size=max_packet_size)
        self._thread = threading.Thread(target=self._serve_loop, daemon=True,
                                        name=f"handset-udp-{handset.serialno}")

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"udp:{host}:{self.port}"

    def start(self) -> "HandsetUdpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._link.stop()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()

    def _serve_loop(self) -> None:
        while True:
            try:
                self._link.wait_for_host()
            except TransportError:
                return
            self.handset.serve(self._link)
