"""The records of LP metadata (liblp's metadata_format.h, version 10.0 to 10.2) and their limits.

On a super partition: 4 KiB reserved, the geometry at 4 KiB and its backup at 8 KiB,
then `metadata_slot_count` primary metadata slots of `metadata_max_size` bytes each,
then as many backup slots; logical partitions' extents come after, from the block
device's `first_logical_sector`. Sizes and positions in extents are 512-byte sectors.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTOR = 512
RESERVED_BYTES = 4096
GEOMETRY_SIZE = 4096
GEOMETRY_MAGIC = 0x616C4467
HEADER_MAGIC = 0x414C5030
MAJOR_VERSION = 10
MINOR_VERSION_MAX = 2
HEADER_SIZE_V1_0 = 128
HEADER_SIZE_V1_2 = 256
NAME_BYTES = 36

TARGET_LINEAR = 0
TARGET_ZERO = 1

ATTR_READONLY = 1 << 0
ATTR_SLOT_SUFFIXED = 1 << 1
ATTR_UPDATED = 1 << 2
ATTR_DISABLED = 1 << 3
ATTRIBUTES_V0 = ATTR_READONLY | ATTR_SLOT_SUFFIXED
ATTRIBUTES_V1 = ATTRIBUTES_V0 | ATTR_UPDATED | ATTR_DISABLED
GROUP_SLOT_SUFFIXED = 1 << 0
BLOCK_DEVICE_SLOT_SUFFIXED = 1 << 0
HEADER_FLAG_VIRTUAL_AB = 1 << 0

# Bounds checked before anything is allocated from a count or size that input gives.
MAX_METADATA_SIZE = 1 << 20
"""Largest metadata slot accepted (AOSP builds use 64 KiB)."""
MAX_SLOTS = 8
MAX_LOGICAL_BLOCK = 1 << 20


@dataclass(frozen=True)
class Geometry:
    metadata_max_size: int
    metadata_slot_count: int
    logical_block_size: int = 4096

    @property
    def metadata_end(self) -> int:
        """The first byte after the backup metadata slots."""
        return RESERVED_BYTES + 2 * GEOMETRY_SIZE + 2 * self.metadata_max_size * self.metadata_slot_count

    def primary_offset(self, slot: int) -> int:
        return RESERVED_BYTES + 2 * GEOMETRY_SIZE + self.metadata_max_size * slot

    def backup_offset(self, slot: int) -> int:
        return self.primary_offset(self.metadata_slot_count + slot)


@dataclass(frozen=True)
class Extent:
    num_sectors: int
    target_type: int = TARGET_LINEAR
    target_data: int = 0
    """LINEAR: the first sector on the block device."""
    target_source: int = 0
    """LINEAR: the index of the block device."""

    @property
    def size(self) -> int:
        return self.num_sectors * SECTOR


@dataclass(frozen=True)
class LogicalPartition:
    name: str
    group_index: int
    attributes: int = ATTR_READONLY
    extents: tuple[Extent, ...] = ()

    @property
    def size(self) -> int:
        return sum(extent.size for extent in self.extents)


@dataclass(frozen=True)
class Group:
    name: str
    maximum_size: int = 0
    """0: no limit but the device."""
    flags: int = 0


@dataclass(frozen=True)
class BlockDevice:
    partition_name: str
    size: int
    first_logical_sector: int
    alignment: int = 1 << 20
    alignment_offset: int = 0
    flags: int = 0


@dataclass(frozen=True)
class Metadata:
    geometry: Geometry
    partitions: tuple[LogicalPartition, ...]
    groups: tuple[Group, ...]
    block_devices: tuple[BlockDevice, ...]
    header_flags: int = 0
    minor_version: int = 0

    def partition(self, name: str) -> LogicalPartition | None:
        return next((p for p in self.partitions if p.name == name), None)

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    @property
    def super_device(self) -> BlockDevice:
        return self.block_devices[0]

    def needed_minor_version(self) -> int:
        """The lowest 10.x that can hold this metadata (as liblp picks it)."""
        if self.header_flags:
            return 2
        if any(p.attributes & (ATTR_UPDATED | ATTR_DISABLED) for p in self.partitions):
            return 1
        return 0
