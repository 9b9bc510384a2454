"""Fastboot-over-UDP packets without sockets: headers, query and init payloads.

Every packet starts with a 4-byte header: id, flags (bit 0: more pieces of
this message follow), then a 16-bit big-endian sequence number.
"""

import enum
import struct
from dataclasses import dataclass

from .errors import BadInit, ShortPacket, UnexpectedReply, UnknownPacketId, WrongSequence

HEADER_SIZE = 4
PROTOCOL_VERSION = 1
MIN_PACKET_SIZE = 512
HOST_MAX_PACKET_SIZE = 8192
DEVICE_MAX_PACKET_SIZE = 1024
FLAG_CONTINUATION = 0x01
SEQUENCE_MODULO = 1 << 16

_HEADER = struct.Struct(">BBH")
_U16 = struct.Struct(">H")
SEQUENCE = _U16  # the header's last two bytes
_INIT = struct.Struct(">HH")


class PacketId(enum.IntEnum):
    ERROR = 0
    QUERY = 1
    INIT = 2
    FASTBOOT = 3


@dataclass(frozen=True)
class Packet:
    id: PacketId
    sequence: int
    continuation: bool = False
    payload: bytes = b""


def encode(packet_id: PacketId, sequence: int, payload: bytes | memoryview = b"", *,
           continuation: bool = False) -> bytes:
    return encode_header(packet_id, sequence, continuation) + payload


def encode_header(packet_id: PacketId, sequence: int, continuation: bool = False) -> bytes:
    return _HEADER.pack(packet_id, FLAG_CONTINUATION if continuation else 0, sequence)


def decode(datagram: bytes) -> Packet:
    if len(datagram) < HEADER_SIZE:
        raise ShortPacket(f"a {len(datagram)}-byte UDP packet is shorter than the {HEADER_SIZE}-byte header")
    raw_id, flags, sequence = _HEADER.unpack_from(datagram)
    try:
        packet_id = PacketId(raw_id)
    except ValueError:
        raise UnknownPacketId(f"unknown fastboot UDP packet id {raw_id}") from None
    return Packet(packet_id, sequence, bool(flags & FLAG_CONTINUATION), bytes(datagram[HEADER_SIZE:]))


def next_sequence(sequence: int) -> int:
    return (sequence + 1) % SEQUENCE_MODULO


def previous_sequence(sequence: int) -> int:
    return (sequence - 1) % SEQUENCE_MODULO


def check_reply(request: Packet, reply: Packet) -> None:
    """A reply answers `request` when it has the same sequence and id (or is an ERROR)."""
    if reply.sequence != request.sequence:
        raise WrongSequence(f"reply has sequence {reply.sequence}, {request.sequence} expected")
    if reply.id not in (request.id, PacketId.ERROR):
        raise UnexpectedReply(f"a {reply.id.name} packet answered a {request.id.name} packet")


def query_payload(next_expected: int) -> bytes:
    return _U16.pack(next_expected)


def parse_query_payload(payload: bytes) -> int:
    """The sequence number the device expects next."""
    if len(payload) < _U16.size:
        raise ShortPacket(f"query reply carries {len(payload)} bytes; 2 expected")
    return _U16.unpack_from(payload)[0]


@dataclass(frozen=True)
class Init:
    version: int
    max_packet_size: int

    def encode(self) -> bytes:
        return _INIT.pack(self.version, self.max_packet_size)


def parse_init_payload(payload: bytes) -> Init:
    """A peer's version and largest packet, refused when no link could use them."""
    if len(payload) < _INIT.size:
        raise ShortPacket(f"init packet carries {len(payload)} bytes; 4 expected")
    init = Init(*_INIT.unpack_from(payload))
    if init.version < PROTOCOL_VERSION:
        raise BadInit(f"peer speaks fastboot-over-UDP version {init.version}; 1 or newer is needed")
    if init.max_packet_size < MIN_PACKET_SIZE:
        raise BadInit(f"peer's largest packet is {init.max_packet_size} bytes; "
                      f"at least {MIN_PACKET_SIZE} needed")
    return init
