"""Super images and super_empty.img: where metadata sits in each, read and written.

A super image (what the `super` partition holds) carries the geometry twice and every
metadata slot twice, primary and backup; a reader falls back to the backup when the
primary is damaged, as liblp does. super_empty.img, shipped in factory images, is
only the geometry followed by one copy of the metadata.
"""

from __future__ import annotations

from typing import BinaryIO

from .codec import decode_geometry, decode_metadata, encode_geometry, encode_metadata
from .errors import MetadataInvalid
from .format import GEOMETRY_MAGIC, GEOMETRY_SIZE, RESERVED_BYTES, Geometry, Metadata

PRIMARY_GEOMETRY = RESERVED_BYTES
BACKUP_GEOMETRY = RESERVED_BYTES + GEOMETRY_SIZE


def is_super_empty(data: bytes) -> bool:
    """Whether these bytes start like super_empty.img (geometry first) rather than a super image."""
    return len(data) >= 4 and int.from_bytes(data[:4], "little") == GEOMETRY_MAGIC


def read_super_empty(data: bytes) -> Metadata:
    """The metadata of a super_empty.img held in memory."""
    if len(data) < GEOMETRY_SIZE:
        raise MetadataInvalid(f"super_empty.img of {len(data)} bytes is too short to hold metadata")
    geometry = decode_geometry(data[:GEOMETRY_SIZE])
    return decode_metadata(data[GEOMETRY_SIZE:], geometry)


def super_empty_bytes(metadata: Metadata) -> bytes:
    """super_empty.img for this layout."""
    return encode_geometry(metadata.geometry) + encode_metadata(metadata)


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def read_geometry(f: BinaryIO) -> Geometry:
    try:
        return decode_geometry(_read_at(f, PRIMARY_GEOMETRY, GEOMETRY_SIZE))
    except MetadataInvalid as primary:
        try:
            return decode_geometry(_read_at(f, BACKUP_GEOMETRY, GEOMETRY_SIZE))
        except MetadataInvalid:
            raise primary from None


def read_super(f: BinaryIO, slot: int = 0) -> Metadata:
    """Metadata slot `slot` of a super image open for reading (primary, else backup)."""
    geometry = read_geometry(f)
    if not 0 <= slot < geometry.metadata_slot_count:
        raise MetadataInvalid(f"metadata slot {slot} does not exist (the super has "
                              f"{geometry.metadata_slot_count})")
    try:
        return decode_metadata(_read_at(f, geometry.primary_offset(slot), geometry.metadata_max_size), geometry)
    except MetadataInvalid as primary:
        try:
            return decode_metadata(_read_at(f, geometry.backup_offset(slot), geometry.metadata_max_size),
                                   geometry)
        except MetadataInvalid:
            raise primary from None


def write_slot(f: BinaryIO, metadata: Metadata, slot: int) -> None:
    """Write one metadata slot, primary then backup (a cut between them leaves one good copy)."""
    geometry = metadata.geometry
    blob = encode_metadata(metadata).ljust(geometry.metadata_max_size, b"\0")
    for offset in (geometry.primary_offset(slot), geometry.backup_offset(slot)):
        f.seek(offset)
        f.write(blob)
        f.flush()


def write_super(f: BinaryIO, metadata: Metadata) -> None:
    """Lay metadata on a whole super: both geometries and every slot (liblp's FlashPartitionTable)."""
    device = metadata.super_device
    if device.size < metadata.geometry.metadata_end:
        raise MetadataInvalid(f"a super of {device.size} bytes cannot hold its own metadata")
    geometry = encode_geometry(metadata.geometry)
    f.seek(0)
    f.write(bytes(RESERVED_BYTES) + geometry + geometry)
    for slot in range(metadata.geometry.metadata_slot_count):
        write_slot(f, metadata, slot)
