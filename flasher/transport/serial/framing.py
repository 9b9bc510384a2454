"""Serial link frames without I/O: encoding, and a receive buffer that resynchronises.

A frame is SYNC, a header with its own check, the payload and a CRC32 over
header and payload (layout in docs/protocols/serial.md). The header check
catches a damaged length at once, so the reader never waits for bytes that a
corrupted length promised. Any bytes fed in give frames, `Corrupted` marks or
nothing; the buffer never holds more than one frame's worth after a feed.
"""

import enum
import struct
import zlib
from dataclasses import dataclass

from ..errors import FrameTooLarge

SYNC = b"\xa5\x5a"
MAX_PAYLOAD = 4096
_HEADER = struct.Struct(">2sBBHH")  # sync, kind, sequence, length, header check
_CRC = struct.Struct(">I")
HEADER_SIZE = _HEADER.size
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + _CRC.size
HELLO_MAGIC = b"TSUF-DL\x01"  # download-mode handshake payload, version 1


class FrameKind(enum.IntEnum):
    DATA = 0x01  # the last (or only) piece of a fastboot packet
    DATA_MORE = 0x02  # a piece of a packet that continues in the next frame
    ACK = 0x03
    NAK = 0x04
    HELLO = 0x05  # host: start a download-mode session
    HELLO_REPLY = 0x06  # device: session started, sequences reset


_KINDS = frozenset(FrameKind)


@dataclass(frozen=True)
class Frame:
    kind: FrameKind
    sequence: int
    payload: bytes = b""


@dataclass(frozen=True)
class Corrupted:
    """A frame whose header was sound but whose payload failed its CRC."""


CORRUPTED = Corrupted()


def _header_check(header_start: bytes) -> int:
    return zlib.crc32(header_start) & 0xFFFF


def encode(kind: FrameKind, sequence: int, payload: bytes | memoryview = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise FrameTooLarge(f"a frame carries at most {MAX_PAYLOAD} bytes, not {len(payload)}")
    start = struct.pack(">2sBBH", SYNC, kind, sequence & 0xFF, len(payload))
    body = start + struct.pack(">H", _header_check(start)) + bytes(payload)
    return body + _CRC.pack(zlib.crc32(body))


class FrameReader:
    """Turns a byte stream into frames, skipping garbage up to the next sound header."""

    def __init__(self):
        self._buffer = bytearray()
        self.corrupted = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame | Corrupted]:
        buffer = self._buffer
        buffer += data
        events: list[Frame | Corrupted] = []
        position = 0
        while True:
            start = buffer.find(SYNC, position)
            if start < 0:
                position = len(buffer) - (1 if buffer.endswith(SYNC[:1]) else 0)
                break
            if len(buffer) - start < HEADER_SIZE:
                position = start
                break
            _sync, kind, sequence, length, check = _HEADER.unpack_from(buffer, start)
            if (check != _header_check(bytes(buffer[start:start + HEADER_SIZE - 2]))
                    or length > MAX_PAYLOAD or kind not in _KINDS):
                position = start + 1
                continue
            end = start + HEADER_SIZE + length + _CRC.size
            if len(buffer) < end:
                position = start
                break
            (crc,) = _CRC.unpack_from(buffer, end - _CRC.size)
            if crc != zlib.crc32(buffer[start:end - _CRC.size]):
                self.corrupted += 1
                events.append(CORRUPTED)
                position = start + 1
                continue
            events.append(Frame(FrameKind(kind), sequence, bytes(buffer[start + HEADER_SIZE:end - _CRC.size])))
            position = end
        del buffer[:position]
        return events
