"""A reliable packet link over any byte stream, for both ends of a serial line.

Stop-and-wait: each DATA frame is sent again until its ACK arrives, at once on
a NAK for it, otherwise after a retransmit timeout, until the caller's
deadline. The timeout adapts to the measured round trip as TCP's does (RFC
6298: smoothed RTT plus four deviations, doubled after each expiry, samples
only from frames sent once), so a fast pty recovers in milliseconds while a
slow UART still gets time for a whole frame. A receiver sends a NAK for a frame
that fails its CRC, and for half a frame followed by silence (dropped bytes),
so most errors cost a few milliseconds, not a timeout.

The receiver delivers a frame only with the sequence number it expects, and
acknowledges a repeat of the previous one without delivering it again, so a
lost ACK costs one duplicate and nothing else. Both directions run in the
caller's thread: while waiting for an ACK the link also takes the peer's DATA
frames, up to `INBOUND_LIMIT` bytes; beyond that it leaves them unacknowledged
and the peer repeats them later, which bounds memory.
"""

import os
import time
from collections import deque
from typing import Protocol

from ..errors import HandshakeFailed, LinkTimeout, TransportError
from .framing import CORRUPTED, HELLO_MAGIC, MAX_PAYLOAD, Frame, FrameKind, FrameReader, encode

INITIAL_RETRANSMIT = 1.0  # before the first round trip is measured: a 4 KiB frame at 57600 baud
MIN_RETRANSMIT = 0.02
MAX_RETRANSMIT = 2.0
STALL_GAP = 0.01  # silence inside a frame this long means lost bytes; a 9600-baud byte takes 1 ms
HELLO_NONCE_SIZE = 4  # tells a new session from a late repeat of the current one's HELLO
HELLO_INTERVAL = 0.25  # a HELLO is a few bytes, so even a slow UART answers it this fast
INBOUND_LIMIT = 64 * 1024
_READ_CHUNK = 64 * 1024
_CONTROL_TIMEOUT = 1.0  # an ACK, NAK or HELLO reply is a few bytes: only a wedged line takes longer


class ByteStream(Protocol):
    def read(self, max_size: int, timeout: float) -> bytes:
        """Some bytes, or b"" when none came within `timeout`; a dead line raises LinkClosed."""

    def write(self, data: bytes, timeout: float) -> None:
        """All of `data`, or LinkTimeout; a dead line raises LinkClosed."""


class SessionRestarted(TransportError):
    """The host sent HELLO: the device's session starts over."""


class Link:
    """One end of the link. `device=True` answers HELLO; the host sends it (`hello`)."""

    def __init__(self, stream: ByteStream, *, name: str, device: bool = False,
                 initial_retransmit: float = INITIAL_RETRANSMIT):
        self.name = name
        self.retransmits = 0
        self._stream = stream
        self._device = device
        self._retransmit_timeout = initial_retransmit
        self._smoothed_rtt: float | None = None
        self._rtt_deviation = 0.0
        self._reader = FrameReader()
        self._inbound: deque[Frame] = deque()
        self._inbound_bytes = 0
        self._partial = memoryview(b"")  # unread rest of the frame `receive` is in
        self._partial_ends_packet = False
        self._hello = b""  # this session's HELLO payload: magic and the host's nonce
        self._stall_reported = False
        self._reset_sequences()

    @property
    def corrupted_frames(self) -> int:
        return self._reader.corrupted

    def hello(self, timeout: float) -> None:
        """Host: start a session; HandshakeFailed if nothing answers in download mode."""
        deadline = time.monotonic() + timeout
        self._hello = HELLO_MAGIC + os.urandom(HELLO_NONCE_SIZE)
        self._hello_answered = False
        frame = encode(FrameKind.HELLO, 0, self._hello)
        while not self._hello_answered:
            now = time.monotonic()
            if now >= deadline:
                raise HandshakeFailed(f"{self.name}: no download-mode handshake within {timeout:g} s",
                                      hint="Put the handset in download mode, or check the port name.")
            self._stream.write(frame, deadline - now)
            until = min(deadline, time.monotonic() + HELLO_INTERVAL)
            while not self._hello_answered and time.monotonic() < until:
                self._pump(until)
        self._reset_sequences()
        self._clear_inbound()

    def send(self, packet: bytes | memoryview, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        view = memoryview(packet)
        start = 0
        while True:
            end = start + MAX_PAYLOAD
            kind = FrameKind.DATA_MORE if end < len(view) else FrameKind.DATA
            self._send_frame(kind, view[start:end], deadline)
            if kind is FrameKind.DATA:
                return
            start = end

    def receive(self, max_size: int, timeout: float) -> bytes:
        """Up to `max_size` bytes of the current packet; stops early at its end."""
        deadline = time.monotonic() + timeout
        out = bytearray()
        while len(out) < max_size:
            if not self._partial and self._inbound:
                frame = self._inbound.popleft()
                self._inbound_bytes -= len(frame.payload)
                self._partial = memoryview(frame.payload)
                self._partial_ends_packet = frame.kind is FrameKind.DATA
                if not frame.payload and self._partial_ends_packet:
                    break
            if self._partial:
                take = self._partial[:max_size - len(out)]
                out += take
                self._partial = self._partial[len(take):]
                if not self._partial and self._partial_ends_packet:
                    break
                continue
            if time.monotonic() >= deadline:
                raise LinkTimeout(f"{self.name}: no data from the peer in time")
            self._pump(deadline)
        return bytes(out)

    def _send_frame(self, kind: FrameKind, payload: memoryview, deadline: float) -> None:
        frame = encode(kind, self._send_sequence, payload)
        self._acked = self._naked = False
        tries = 0
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise LinkTimeout(f"{self.name}: the peer acknowledged nothing in {tries} tries",
                                  hint="The handset stopped answering on the serial line; check the cable, "
                                       "then reconnect it and run the command again.")
            if tries:
                self.retransmits += 1
            tries += 1
            self._naked = False
            self._stream.write(frame, deadline - now)
            sent_at = time.monotonic()
            until = min(deadline, sent_at + self._retransmit_timeout)
            while not (self._acked or self._naked) and time.monotonic() < until:
                self._pump(until)
            if self._acked:
                if tries == 1:
                    self._measure(time.monotonic() - sent_at)
                self._send_sequence = (self._send_sequence + 1) & 0xFF
                return
            if not self._naked:
                self._retransmit_timeout = min(self._retransmit_timeout * 2, MAX_RETRANSMIT)

    def _measure(self, rtt: float) -> None:
        if self._smoothed_rtt is None:
            self._smoothed_rtt, self._rtt_deviation = rtt, rtt / 2
        else:
            self._rtt_deviation = 0.75 * self._rtt_deviation + 0.25 * abs(self._smoothed_rtt - rtt)
            self._smoothed_rtt = 0.875 * self._smoothed_rtt + 0.125 * rtt
        self._retransmit_timeout = min(max(self._smoothed_rtt + 4 * self._rtt_deviation, MIN_RETRANSMIT),
                                       MAX_RETRANSMIT)

    def _pump(self, until: float) -> None:
        """Read what the stream has (waiting until `until` at most) and act on every frame."""
        wait = max(until - time.monotonic(), 0.0)
        stalled = self._reader.buffered > 0 and not self._stall_reported
        data = self._stream.read(_READ_CHUNK, min(wait, STALL_GAP) if stalled else wait)
        if not data:
            if stalled:
                # Half a frame and then silence: bytes were dropped, and stop-and-wait means the
                # sender is now waiting. A NAK gets the frame again without waiting for its timeout.
                self._stall_reported = True
                self._stream.write(encode(FrameKind.NAK, self._expected), _CONTROL_TIMEOUT)
            return
        self._stall_reported = False
        for event in self._reader.feed(data):
            if event is CORRUPTED:
                self._stream.write(encode(FrameKind.NAK, self._expected), _CONTROL_TIMEOUT)
            else:
                self._handle(event)

    def _handle(self, frame: Frame) -> None:
        kind = frame.kind
        if kind is FrameKind.ACK:
            self._acked = self._acked or frame.sequence == self._send_sequence
        elif kind is FrameKind.NAK:
            self._naked = self._naked or frame.sequence == self._send_sequence
        elif kind in (FrameKind.DATA, FrameKind.DATA_MORE):
            self._take_data(frame)
        elif kind is FrameKind.HELLO and self._device and _is_hello(frame.payload):
            self._stream.write(encode(FrameKind.HELLO_REPLY, 0, frame.payload), _CONTROL_TIMEOUT)
            if frame.payload != self._hello:  # a repeat of the current session's HELLO changes nothing
                self._hello = frame.payload
                self._reset_sequences()
                self._clear_inbound()
                raise SessionRestarted(f"{self.name}: the host started a new session")
        elif kind is FrameKind.HELLO_REPLY and not self._device and frame.payload == self._hello:
            self._hello_answered = True

    def _take_data(self, frame: Frame) -> None:
        if frame.sequence == self._expected:
            if self._inbound_bytes + len(frame.payload) > INBOUND_LIMIT:
                return  # no room: unacknowledged, so the peer sends it again later
            self._inbound.append(frame)
            self._inbound_bytes += len(frame.payload)
            self._expected = (self._expected + 1) & 0xFF
        elif frame.sequence != (self._expected - 1) & 0xFF:
            return  # not the next one and not a repeat: a stray from before a restart
        self._stream.write(encode(FrameKind.ACK, frame.sequence), _CONTROL_TIMEOUT)

    def _reset_sequences(self) -> None:
        self._send_sequence = 0
        self._expected = 0
        self._acked = self._naked = False
        self._hello_answered = False

    def _clear_inbound(self) -> None:
        self._inbound.clear()
        self._inbound_bytes = 0
        self._partial = memoryview(b"")
        self._partial_ends_packet = False


def _is_hello(payload: bytes) -> bool:
    return len(payload) == len(HELLO_MAGIC) + HELLO_NONCE_SIZE and payload.startswith(HELLO_MAGIC)
