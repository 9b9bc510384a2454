"""LP metadata to bytes and back. Every count, size and index from input is checked
before it is used, so hostile bytes end in MetadataInvalid, never in a traceback or
a large allocation. Checksums are SHA-256, computed with the checksum field zeroed."""

from __future__ import annotations

import hashlib
import re
import struct

from .errors import MetadataInvalid
from .format import (
    ATTRIBUTES_V0, ATTRIBUTES_V1, GEOMETRY_MAGIC, GEOMETRY_SIZE, HEADER_MAGIC, HEADER_SIZE_V1_0,
    HEADER_SIZE_V1_2, MAJOR_VERSION, MAX_LOGICAL_BLOCK, MAX_METADATA_SIZE, MAX_SLOTS, MINOR_VERSION_MAX,
    NAME_BYTES, SECTOR, TARGET_LINEAR, TARGET_ZERO, BlockDevice, Extent, Geometry, Group, LogicalPartition,
    Metadata,
)

_GEOMETRY = struct.Struct("<II32sIII")
_HEADER = struct.Struct("<IHHI32sI32s12I")  # through the four table descriptors: 128 bytes
_PARTITION = struct.Struct("<36sIIII")
_EXTENT = struct.Struct("<QIQI")
_GROUP = struct.Struct("<36sIQ")
_BLOCK_DEVICE = struct.Struct("<QIIQ36sI")
_TABLES = (_PARTITION, _EXTENT, _GROUP, _BLOCK_DEVICE)
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,36}")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _name(raw: bytes, what: str) -> str:
    text = raw.split(b"\0", 1)[0]
    try:
        name = text.decode("ascii")
    except UnicodeDecodeError:
        name = ""
    if not _NAME.fullmatch(name):
        raise MetadataInvalid(f"{what} has an invalid name {text[:NAME_BYTES]!r}")
    return name


def _raw_name(name: str) -> bytes:
    if not _NAME.fullmatch(name):
        raise MetadataInvalid(f"{name!r} cannot be a logical partition, group or device name "
                              f"(1 to {NAME_BYTES} of A-Z a-z 0-9 _ . -)")
    return name.encode("ascii")


# -- geometry ----------------------------------------------------------------------


def decode_geometry(block: bytes) -> Geometry:
    if len(block) < _GEOMETRY.size:
        raise MetadataInvalid("the metadata geometry is cut short")
    magic, struct_size, checksum, max_size, slot_count, block_size = _GEOMETRY.unpack_from(block)
    if magic != GEOMETRY_MAGIC:
        raise MetadataInvalid(f"no logical partition geometry here (magic 0x{magic:08x})")
    if struct_size != _GEOMETRY.size:
        raise MetadataInvalid(f"the metadata geometry has an unknown size ({struct_size})")
    zeroed = _GEOMETRY.pack(magic, struct_size, bytes(32), max_size, slot_count, block_size)
    if _sha256(zeroed) != checksum:
        raise MetadataInvalid("the metadata geometry's checksum does not match")
    if not 1 <= slot_count <= MAX_SLOTS:
        raise MetadataInvalid(f"the geometry gives {slot_count} metadata slots (1 to {MAX_SLOTS} allowed)")
    if not HEADER_SIZE_V1_2 <= max_size <= MAX_METADATA_SIZE or max_size % SECTOR:
        raise MetadataInvalid(f"the geometry gives metadata slots of {max_size} bytes")
    if not SECTOR <= block_size <= MAX_LOGICAL_BLOCK or block_size % SECTOR:
        raise MetadataInvalid(f"the geometry gives a logical block size of {block_size}")
    return Geometry(max_size, slot_count, block_size)


def encode_geometry(geometry: Geometry) -> bytes:
    """The 4 KiB geometry block."""
    fields = (geometry.metadata_max_size, geometry.metadata_slot_count, geometry.logical_block_size)
    zeroed = _GEOMETRY.pack(GEOMETRY_MAGIC, _GEOMETRY.size, bytes(32), *fields)
    packed = _GEOMETRY.pack(GEOMETRY_MAGIC, _GEOMETRY.size, _sha256(zeroed), *fields)
    return packed.ljust(GEOMETRY_SIZE, b"\0")


# -- header and tables -----------------------------------------------------------------


def decode_metadata(data: bytes, geometry: Geometry) -> Metadata:
    """One metadata slot's bytes (header, then tables) as Metadata."""
    data = data[: geometry.metadata_max_size]
    if len(data) < HEADER_SIZE_V1_0:
        raise MetadataInvalid("the metadata header is cut short")
    (magic, major, minor, header_size, header_checksum, tables_size, tables_checksum,
     *descriptors) = _HEADER.unpack_from(data)
    if magic != HEADER_MAGIC:
        raise MetadataInvalid(f"no logical partition metadata header here (magic 0x{magic:08x})")
    if major != MAJOR_VERSION or minor > MINOR_VERSION_MAX:
        raise MetadataInvalid(f"metadata version {major}.{minor} is not one this reader knows (10.0 to 10.2)")
    expected = HEADER_SIZE_V1_2 if minor >= 2 else HEADER_SIZE_V1_0
    if header_size != expected or len(data) < header_size:
        raise MetadataInvalid(f"the metadata header's size {header_size} is wrong for version 10.{minor}")
    header = bytearray(data[:header_size])
    header[12:44] = bytes(32)
    if _sha256(bytes(header)) != header_checksum:
        raise MetadataInvalid("the metadata header's checksum does not match")
    header_flags = struct.unpack_from("<I", data, HEADER_SIZE_V1_0)[0] if minor >= 2 else 0
    if tables_size > geometry.metadata_max_size - header_size or len(data) < header_size + tables_size:
        raise MetadataInvalid(f"the metadata tables ({tables_size} bytes) do not fit their slot")
    tables = data[header_size : header_size + tables_size]
    if _sha256(tables) != tables_checksum:
        raise MetadataInvalid("the metadata tables' checksum does not match")
    rows = []
    for index, layout in enumerate(_TABLES):
        offset, count, entry_size = descriptors[3 * index : 3 * index + 3]
        if entry_size != layout.size:
            raise MetadataInvalid(f"a metadata table has entries of {entry_size} bytes, not {layout.size}")
        if offset > tables_size or count > (tables_size - offset) // entry_size:
            raise MetadataInvalid("a metadata table runs past the end of the tables")
        rows.append([layout.unpack_from(tables, offset + i * entry_size) for i in range(count)])
    return _metadata(geometry, minor, header_flags, *rows)


def _metadata(geometry, minor, header_flags, partition_rows, extent_rows, group_rows, device_rows) -> Metadata:
    if not device_rows:
        raise MetadataInvalid("the metadata names no block device")
    devices = []
    for index, (first, alignment, alignment_offset, size, name, flags) in enumerate(device_rows):
        # Only the first device (super) holds metadata; a retrofit device's others start at 0.
        if (index == 0 and first * SECTOR < geometry.metadata_end) or first * SECTOR > size:
            raise MetadataInvalid("a block device's first logical sector overlaps the metadata or lies past its end")
        devices.append(BlockDevice(_name(name, "a block device"), size, first, alignment, alignment_offset, flags))
    groups = tuple(Group(_name(name, "a partition group"), maximum, flags) for name, flags, maximum in group_rows)
    extents = []
    for sectors, target_type, target_data, source in extent_rows:
        if target_type == TARGET_LINEAR:
            if source >= len(devices):
                raise MetadataInvalid("an extent points at a block device that does not exist")
            device = devices[source]
            if target_data < device.first_logical_sector or (target_data + sectors) * SECTOR > device.size:
                raise MetadataInvalid(f"an extent lies outside block device {device.partition_name}")
        elif target_type != TARGET_ZERO:
            raise MetadataInvalid(f"an extent has unknown type {target_type}")
        extents.append(Extent(sectors, target_type, target_data, source))
    allowed = ATTRIBUTES_V1 if minor >= 1 else ATTRIBUTES_V0
    partitions = []
    for raw_name, attributes, first_extent, extent_count, group_index in partition_rows:
        name = _name(raw_name, "a logical partition")
        if attributes & ~allowed:
            raise MetadataInvalid(f"logical partition {name} has unknown attributes 0x{attributes:x}")
        if first_extent > len(extents) or extent_count > len(extents) - first_extent:
            raise MetadataInvalid(f"logical partition {name}'s extents run past the extent table")
        if group_index >= len(groups):
            raise MetadataInvalid(f"logical partition {name} is in a group that does not exist")
        partitions.append(LogicalPartition(name, group_index, attributes,
                                           tuple(extents[first_extent : first_extent + extent_count])))
    return Metadata(geometry, tuple(partitions), groups, tuple(devices), header_flags, minor)


def encode_metadata(metadata: Metadata) -> bytes:
    """Header and tables of one metadata slot; refused when they outgrow the slot."""
    minor = max(metadata.minor_version, metadata.needed_minor_version())
    header_size = HEADER_SIZE_V1_2 if minor >= 2 else HEADER_SIZE_V1_0
    partitions, extents = [], []
    for partition in metadata.partitions:
        partitions.append(_PARTITION.pack(_raw_name(partition.name), partition.attributes, len(extents),
                                          len(partition.extents), partition.group_index))
        extents += [_EXTENT.pack(e.num_sectors, e.target_type, e.target_data, e.target_source)
                    for e in partition.extents]
    groups = [_GROUP.pack(_raw_name(g.name), g.flags, g.maximum_size) for g in metadata.groups]
    devices = [_BLOCK_DEVICE.pack(d.first_logical_sector, d.alignment, d.alignment_offset, d.size,
                                  _raw_name(d.partition_name), d.flags) for d in metadata.block_devices]
    descriptors, tables = [], b""
    for layout, rows in zip(_TABLES, (partitions, extents, groups, devices)):
        descriptors += [len(tables), len(rows), layout.size]
        tables += b"".join(rows)
    if header_size + len(tables) > metadata.geometry.metadata_max_size:
        raise MetadataInvalid(f"the metadata ({header_size + len(tables)} bytes) outgrows its "
                              f"{metadata.geometry.metadata_max_size}-byte slot",
                              hint="Use fewer logical partitions, or a super built with larger metadata slots.")
    def header(checksum: bytes) -> bytes:
        fixed = _HEADER.pack(HEADER_MAGIC, MAJOR_VERSION, minor, header_size, checksum, len(tables),
                             _sha256(tables), *descriptors)
        if minor >= 2:
            fixed += struct.pack("<I", metadata.header_flags).ljust(HEADER_SIZE_V1_2 - HEADER_SIZE_V1_0, b"\0")
        return fixed
    return header(_sha256(header(bytes(32)))) + tables
