"""The reference bench/payload_extract.py measures tsuf against: the least that extracting
one partition from an OTA zip must do, and nothing more.

It finds payload.bin stored in the zip, reads its header and just the manifest fields
that place the partition's operations, and writes each REPLACE, REPLACE_BZ and
REPLACE_XZ operation's data, decompressed as it streams (Python's lzma and bz2, the
libraries tsuf uses), at its destination extents; ZERO and DISCARD leave the holes of
a file sized to the partition. It checks nothing: no signature, no hash (payload,
operation data or image), no properties, no bounds, no free space; any other operation
stops it. Standard library only, so it shares no code with tsuf.

    python bench/payload_reference.py OTA.zip PARTITION OUT.img
"""

import bz2
import lzma
import struct
import sys
import zipfile

PIECE = 1 << 20
HEADER = struct.Struct(">4sQQI")  # "CrAU", major version, manifest size, metadata signature size
LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's local header: name and extra field lengths
REPLACE, REPLACE_BZ, ZERO, DISCARD, REPLACE_XZ = 0, 1, 6, 7, 8


def main(ota: str, name: str, out: str) -> int:
    with zipfile.ZipFile(ota) as archive:
        member = archive.getinfo("payload.bin")
    with open(ota, "rb") as file:
        file.seek(member.header_offset)
        _, name_length, extra_length = LOCAL_HEADER.unpack(file.read(LOCAL_HEADER.size))
        payload_start = member.header_offset + LOCAL_HEADER.size + name_length + extra_length
        file.seek(payload_start)
        _, _, manifest_size, signature_size = HEADER.unpack(file.read(HEADER.size))
        manifest = file.read(manifest_size)
        data_start = payload_start + HEADER.size + manifest_size + signature_size
        block_size, partitions = 4096, []
        for number, value in _fields(manifest):
            if number == 3:
                block_size = value
            elif number == 13:
                partitions.append(value)
        partition = next(p for p in partitions if _partition_name(p) == name)
        with open(out, "wb") as sink:
            sink.truncate(_partition_size(partition))
            for number, value in _fields(partition):
                if number == 8:
                    _apply(*_operation(value), file, data_start, sink, block_size)
    return 0


def _apply(op_type: int, data_offset: int, data_length: int, dst: list[tuple[int, int]], file, data_start: int,
           sink, block_size: int) -> None:
    if op_type in (ZERO, DISCARD):
        return
    decompressor = {REPLACE: None, REPLACE_BZ: bz2.BZ2Decompressor, REPLACE_XZ: lzma.LZMADecompressor}[op_type]
    decompressor = decompressor() if decompressor else None
    spans = [(start * block_size, count * block_size) for start, count in dst]
    file.seek(data_start + data_offset)
    left = data_length
    while left:
        piece = file.read(min(PIECE, left))
        left -= len(piece)
        spans = _write(sink, spans, decompressor.decompress(piece) if decompressor else piece)


def _write(sink, spans: list[tuple[int, int]], data: bytes) -> list[tuple[int, int]]:
    """Write `data` at the start of `spans`, the extents still unwritten; returns those left."""
    while data:
        offset, length = spans[0]
        sink.seek(offset)
        sink.write(data[:length])
        spans = ([(offset + len(data), length - len(data))] if len(data) < length else []) + spans[1:]
        data = data[length:]
    return spans


def _operation(message: bytes) -> tuple[int, int, int, list[tuple[int, int]]]:
    """An InstallOperation's type, data_offset, data_length and dst_extents."""
    fields = list(_fields(message))
    scalars = {number: value for number, value in fields if number in (1, 2, 3)}
    extents = [dict(_fields(extent)) for number, extent in fields if number == 6]
    return (scalars.get(1, 0), scalars.get(2, 0), scalars.get(3, 0),
            [(extent.get(1, 0), extent.get(2, 0)) for extent in extents])


def _partition_name(message: bytes) -> str:
    return next(value.decode() for number, value in _fields(message) if number == 1)


def _partition_size(message: bytes) -> int:
    info = next(value for number, value in _fields(message) if number == 7)
    return next(value for number, value in _fields(info) if number == 1)


def _fields(message: bytes):
    """(field number, value) of a protobuf message: varints as ints, length-delimited as bytes."""
    at = 0
    while at < len(message):
        key, at = _varint(message, at)
        wire_type = key & 7
        if wire_type == 0:
            value, at = _varint(message, at)
        elif wire_type == 2:
            length, at = _varint(message, at)
            value, at = message[at:at + length], at + length
        else:  # fixed64 (1) or fixed32 (5)
            size = 8 if wire_type == 1 else 4
            value, at = int.from_bytes(message[at:at + size], "little"), at + size
        yield key >> 3, value


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
