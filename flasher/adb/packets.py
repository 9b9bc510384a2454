"""ADB's wire format, shared by the host and device halves; no I/O.

A message is a 24-byte header of six little-endian 32-bit words (command,
arg0, arg1, payload length, payload checksum, magic = command XOR 0xFFFFFFFF),
then the payload. The checksum is the byte sum of the payload; peers of
version 0x01000001 and later neither send (0) nor check it, except on CNXN,
which goes out before either side knows the other's version.
"""

import enum
import struct
from dataclasses import dataclass

from .errors import BadMagic

VERSION_MIN = 0x01000000
VERSION_SKIP_CHECKSUM = 0x01000001
VERSION = VERSION_SKIP_CHECKSUM

MAX_PAYLOAD_V1 = 4096
"""What version 0x01000000 peers accept; also the most a CNXN banner may hold."""

MAX_PAYLOAD = 1 << 20
"""What we accept and offer (AOSP's MAX_PAYLOAD since Android 9)."""

MIN_PAYLOAD = 256
"""A peer offering less could not carry a service name; it is refused."""

HEADER = struct.Struct("<6I")
HEADER_SIZE = HEADER.size

AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3


class Command(enum.IntEnum):
    SYNC = 0x434E5953
    CNXN = 0x4E584E43
    AUTH = 0x48545541
    OPEN = 0x4E45504F
    OKAY = 0x59414B4F
    CLSE = 0x45534C43
    WRTE = 0x45545257
    STLS = 0x534C5453


@dataclass(frozen=True)
class Header:
    command: int
    arg0: int
    arg1: int
    length: int
    checksum: int

    @property
    def name(self) -> str:
        """CNXN, WRTE, ... or the hex of a command this side does not know."""
        try:
            return Command(self.command).name
        except ValueError:
            return f"0x{self.command:08x}"


def checksum(payload: bytes | memoryview) -> int:
    return sum(payload) & 0xFFFFFFFF


def encode_header(command: int, arg0: int, arg1: int, payload: bytes | memoryview = b"", *,
                  with_checksum: bool) -> bytes:
    return HEADER.pack(command, arg0, arg1, len(payload), checksum(payload) if with_checksum else 0,
                       command ^ 0xFFFFFFFF)


def parse_header(raw: bytes | bytearray | memoryview) -> Header:
    command, arg0, arg1, length, data_check, magic = HEADER.unpack(raw)
    if magic != command ^ 0xFFFFFFFF:
        raise BadMagic(f"ADB header magic 0x{magic:08x} does not match command 0x{command:08x}: "
                       "the peer does not speak ADB, or the stream lost its place")
    return Header(command, arg0, arg1, length, data_check)
