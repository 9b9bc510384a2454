"""The protobuf wire format, read with bounds: just what the payload manifest needs.

A field is (number, wire type, value): varints are ints, length-delimited fields are
memoryview slices of the message (no copies), fixed32/fixed64 are ints. Groups
(wire types 3 and 4) do not occur in update_metadata.proto and are refused.
"""

from __future__ import annotations

from collections.abc import Iterator

from .errors import MalformedPayload

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
MAX_VARINT_BYTES = 10


def read_varint(data: memoryview, at: int, where: str) -> tuple[int, int]:
    value = shift = 0
    for index in range(at, min(at + MAX_VARINT_BYTES, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if value >= 1 << 64:
                raise MalformedPayload(f"{where}: a varint is larger than 64 bits")
            return value, index + 1
        shift += 7
    raise MalformedPayload(f"{where}: a varint runs past the end of its message")


def fields(message: memoryview, where: str) -> Iterator[tuple[int, int, int | memoryview]]:
    """Every field of one message in order; unknown field numbers are the caller's to skip."""
    at, end = 0, len(message)
    while at < end:
        key, at = read_varint(message, at, where)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise MalformedPayload(f"{where}: field number 0")
        if wire_type == VARINT:
            value, at = read_varint(message, at, where)
        elif wire_type == LENGTH:
            length, at = read_varint(message, at, where)
            if length > end - at:
                raise MalformedPayload(f"{where}: field {number} claims {length} bytes; {end - at} are left")
            value, at = message[at:at + length], at + length
        elif wire_type in (FIXED32, FIXED64):
            size = 4 if wire_type == FIXED32 else 8
            if size > end - at:
                raise MalformedPayload(f"{where}: field {number} runs past the end of its message")
            value, at = int.from_bytes(message[at:at + size], "little"), at + size
        else:
            raise MalformedPayload(f"{where}: field {number} has wire type {wire_type}, not used by this format")
        yield number, wire_type, value


def expect(value, wire_type: int, wanted: int, where: str):
    if wire_type != wanted:
        raise MalformedPayload(f"{where} has the wrong wire type ({wire_type}, not {wanted})")
    return value

