"""Fastboot over UDP, host side: query, init, then one reply per host packet.

The host drives every exchange and the device answers each packet once, with
the same sequence number; a lost packet or reply is recovered by sending the
packet again. A fastboot packet travels as pieces of the negotiated size, all
but the last flagged as continued. Writes get each piece acknowledged; reads
pull each piece with an empty packet.
"""

import socket
import struct
import sys
import time

from . import udp_packets as packets
from .base import Transport
from .errors import (ConnectFailed, DeviceReportedError, LinkClosed, LinkTimeout, TransportError,
                     UdpProtocolError, UnexpectedReply, WrongSequence)
from .udp_packets import PacketId

RETRANSMIT_INTERVAL = 0.5
QUERY_TRIES = 4
MAX_TRIES = 120
_RECEIVE_SIZE = 65535  # the largest datagram, so a reply is never cut short
_ACK_READ = 64  # enough for a bare acknowledgement, without a 64 KiB buffer per packet


class UdpTransport(Transport):
    link_rate = 5e6  # one 1 KiB packet per round trip: a LAN's 0.2 ms round trip allows about this

    def __init__(self, sock: socket.socket, address: str, *, retransmit_interval: float = RETRANSMIT_INTERVAL):
        self.address = address
        self.max_packet_size = packets.MIN_PACKET_SIZE
        self._sock = sock
        self._retransmit_interval = retransmit_interval
        # Blocking calls with a kernel receive timeout: a Python socket timeout
        # would cost a poll before every send and receive, and an ioctl per change.
        sock.settimeout(None)
        self._receive_wait = 0.0
        self._sequence = 0
        self._unread = bytearray()
        self._more = False  # the device flagged more pieces of the packet being read

    @classmethod
    def connect(cls, host: str, port: int, *, timeout: float = 5.0,
                retransmit_interval: float = RETRANSMIT_INTERVAL) -> "UdpTransport":
        address = f"udp:{host}:{port}"
        try:
            family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise ConnectFailed(f"{address}: cannot resolve or open ({exc.strerror or exc})") from None
        transport = cls(sock, address, retransmit_interval=retransmit_interval)
        try:
            sock.connect(sockaddr)  # replies from anyone else are then dropped by the system
            transport.handshake(timeout=timeout)
        except OSError as exc:
            transport.close()
            raise ConnectFailed(f"{address}: cannot connect ({exc.strerror or exc})") from None
        except BaseException:
            transport.close()
            raise
        return transport

    def handshake(self, *, timeout: float) -> None:
        """Learn the device's next sequence number, then agree on version and packet size."""
        deadline = time.monotonic() + timeout
        try:
            reply = self._exchange(PacketId.QUERY, b"", deadline, tries=QUERY_TRIES)
            self._sequence = packets.parse_query_payload(reply[packets.HEADER_SIZE:])
            host = packets.Init(packets.PROTOCOL_VERSION, packets.HOST_MAX_PACKET_SIZE)
            reply = self._exchange(PacketId.INIT, host.encode(), deadline)
        except LinkTimeout:
            raise ConnectFailed(f"{self.address}: no answer to the fastboot UDP handshake "
                                f"within {timeout:g} s") from None
        except LinkClosed:
            raise ConnectFailed(f"{self.address}: nothing listens on that UDP port") from None
        try:
            device = packets.parse_init_payload(reply[packets.HEADER_SIZE:])
        except UdpProtocolError as exc:
            raise type(exc)(f"{self.address}: {exc}") from None
        self.max_packet_size = min(packets.HOST_MAX_PACKET_SIZE, device.max_packet_size)

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        # An empty write sends nothing: an empty packet would read as a request for data.
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        piece_size = self.max_packet_size - packets.HEADER_SIZE
        total = len(view)
        sock = self._sock
        header = packets.encode_header
        self._wait_at_most(min(self._retransmit_interval, timeout))
        # The device waits on this loop for every ~1 KiB of a download, so the common
        # exchange (send, then the bare acknowledgement) takes two system calls and a
        # compare. Anything else (a loss, a stray or late reply, the deadline near)
        # goes to _exchange, which sends the packet again: a device answers a repeat
        # with its last reply, so that is always safe, even when the reply read here
        # was longer than _ACK_READ and so cut short.
        for start in range(0, total, piece_size):
            end = start + piece_size
            sequence = self._sequence
            ack = header(PacketId.FASTBOOT, sequence)
            if deadline - time.monotonic() > self._retransmit_interval:
                datagram = (header(PacketId.FASTBOOT, sequence, True) if end < total else ack) + view[start:end]
                try:
                    sock.send(datagram)
                    if sock.recv(_ACK_READ) == ack:
                        self._sequence = (sequence + 1) % packets.SEQUENCE_MODULO
                        continue
                except OSError:
                    pass  # _exchange sends again and names the failure if it lasts
            reply = self._exchange(PacketId.FASTBOOT, view[start:end], deadline, continuation=end < total)
            if len(reply) > packets.HEADER_SIZE:
                raise UnexpectedReply(f"{self.address}: the device answered a data packet with data")

    def read(self, max_size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        if not self._unread and not self._more:
            self._pull(deadline)
        while self._more and len(self._unread) < max_size:
            self._pull(deadline)
        data = bytes(self._unread[:max_size])
        del self._unread[:max_size]
        return data

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def _pull(self, deadline: float) -> None:
        """Ask for the next piece of the device's packet with an empty packet."""
        reply = self._exchange(PacketId.FASTBOOT, b"", deadline)
        self._unread += reply[packets.HEADER_SIZE:]
        self._more = bool(reply[1] & packets.FLAG_CONTINUATION)

    def _exchange(self, packet_id: PacketId, payload: bytes | memoryview, deadline: float, *,
                  tries: int = MAX_TRIES, continuation: bool = False) -> bytes:
        """Send one packet until its reply arrives; retransmits cover losses both ways.

        Returns the reply datagram, checked: same sequence, same id. This runs
        once per ~1 KiB of a download, with the device waiting on it, so it
        works on raw bytes and keeps to a few calls per packet.
        """
        sequence = self._sequence
        datagram = packets.encode_header(packet_id, sequence, continuation) + payload
        started = time.monotonic()
        reply = None
        attempts = 0
        while reply is None and attempts < tries:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            attempts += 1
            self._send(datagram)
            reply = self._await_reply(packet_id, sequence, min(self._retransmit_interval, left))
        if reply is None:
            raise LinkTimeout(f"{self.address}: no reply from the device after {attempts} tries "
                              f"in {time.monotonic() - started:.1f} s",
                              hint="Check that the handset is still in fastboot mode and that nothing on "
                                   "the network drops UDP to it, then run the command again.")
        self._sequence = packets.next_sequence(sequence)
        if reply[0] == PacketId.ERROR:
            text = reply[packets.HEADER_SIZE:].decode("utf-8", "replace")
            raise DeviceReportedError(f"{self.address}: the device reported an error: {text}")
        return reply

    def _await_reply(self, packet_id: PacketId, sequence: int, wait: float) -> bytes | None:
        """The reply to the packet sent, or None when `wait` seconds pass without it."""
        sock = self._sock
        sequence_bytes = packets.SEQUENCE.pack(sequence)
        until = time.monotonic() + wait
        while wait > 0:
            self._wait_at_most(wait)
            try:
                datagram = sock.recv(_RECEIVE_SIZE)
            except (BlockingIOError, TimeoutError):  # the receive timeout ran out
                return None
            except (ConnectionRefusedError, ConnectionResetError):
                raise LinkClosed(f"{self.address}: nothing listens on that UDP port any more") from None
            except OSError as exc:
                raise TransportError(f"{self.address}: receive failed ({exc.strerror or exc})") from None
            if datagram[2:4] == sequence_bytes and datagram[0] == packet_id:
                return datagram  # the common case, checked without building a packet
            try:
                packets.check_reply(packets.Packet(packet_id, sequence), packets.decode(datagram))
            except WrongSequence:
                wait = until - time.monotonic()
                continue  # a late duplicate of an earlier reply
            except UdpProtocolError as exc:
                raise type(exc)(f"{self.address}: {exc}") from None
            return datagram  # an ERROR packet
        return None

    def _wait_at_most(self, wait: float) -> None:
        """Make a receive give up after `wait` seconds (rounded up to the millisecond)."""
        millis = max(1, -int(-wait * 1000 // 1))
        if millis == self._receive_wait:
            return
        if sys.platform == "win32":
            value = struct.pack("<L", millis)
        else:
            value = struct.pack("@ll", millis // 1000, millis % 1000 * 1000)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        self._receive_wait = millis

    def _send(self, datagram: bytes) -> None:
        try:
            self._sock.send(datagram)
        except (ConnectionRefusedError, ConnectionResetError):
            raise LinkClosed(f"{self.address}: nothing listens on that UDP port any more") from None
        except OSError as exc:
            raise TransportError(f"{self.address}: send failed ({exc.strerror or exc})") from None
