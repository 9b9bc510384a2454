"""Allocating logical partitions inside super, the way liblp's MetadataBuilder does.

Every function takes Metadata and returns new Metadata; nothing is written here.
A partition's size is rounded up to the logical block size; new extents start on the
block device's alignment where the free space allows, and a partition that grows
right after its last extent just extends it. A size that would exceed the group's
maximum or the free space of super is NoSpaceInSuper, with nothing changed.
"""

from __future__ import annotations

import dataclasses

from .errors import LogicalPartitionError, MetadataInvalid, NoSpaceInSuper
from .format import (
    ATTR_READONLY, HEADER_FLAG_VIRTUAL_AB, MINOR_VERSION_MAX, SECTOR,
    TARGET_LINEAR, BlockDevice, Extent, Geometry, Group, LogicalPartition, Metadata,
)

DEFAULT_GROUP = "default"


def new_layout(super_name: str, super_size: int, groups: dict[str, int], partitions: dict[str, str], *,
               slot_count: int = 2, metadata_max_size: int = 65536, block_size: int = 4096,
               alignment: int = 1 << 20, virtual_ab: bool = False) -> Metadata:
    """Metadata for an empty super: `groups` maps each group to its maximum size (0: any),
    `partitions` each logical partition to its group; every partition starts empty."""
    geometry = Geometry(metadata_max_size, slot_count, block_size)
    first = -(-geometry.metadata_end // alignment) * alignment
    if super_size % block_size or first >= super_size:
        raise MetadataInvalid(f"a super of {super_size} bytes cannot hold metadata and partitions")
    device = BlockDevice(super_name, super_size, first // SECTOR, alignment)
    all_groups = (Group(DEFAULT_GROUP),) + tuple(Group(name, size) for name, size in groups.items())
    metadata = Metadata(geometry, (), all_groups, (device,), HEADER_FLAG_VIRTUAL_AB if virtual_ab else 0,
                        MINOR_VERSION_MAX if virtual_ab else 0)
    for name, group in partitions.items():
        metadata = add_partition(metadata, name, group)
    return metadata


def _index(metadata: Metadata, name: str) -> int:
    for index, partition in enumerate(metadata.partitions):
        if partition.name == name:
            return index
    raise LogicalPartitionError(f"there is no logical partition {name!r} in super")


def _group_index(metadata: Metadata, name: str) -> int:
    for index, group in enumerate(metadata.groups):
        if group.name == name:
            return index
    raise LogicalPartitionError(f"there is no partition group {name!r} in super")


def add_partition(metadata: Metadata, name: str, group: str, attributes: int = ATTR_READONLY) -> Metadata:
    """A new, empty logical partition in `group`."""
    if metadata.partition(name) is not None:
        raise LogicalPartitionError(f"logical partition {name!r} already exists")
    partition = LogicalPartition(name, _group_index(metadata, group), attributes)
    return dataclasses.replace(metadata, partitions=metadata.partitions + (partition,))


def delete_partition(metadata: Metadata, name: str) -> Metadata:
    index = _index(metadata, name)
    return dataclasses.replace(metadata, partitions=metadata.partitions[:index] + metadata.partitions[index + 1:])


def _free_regions(metadata: Metadata, device: BlockDevice) -> list[tuple[int, int]]:
    """Free (start, end) sector ranges of super, in order."""
    used = sorted((e.target_data, e.target_data + e.num_sectors)
                  for p in metadata.partitions for e in p.extents if e.target_type == TARGET_LINEAR and e.target_source == 0)
    regions, cursor = [], device.first_logical_sector
    for start, end in used:
        if start > cursor:
            regions.append((cursor, start))
        cursor = max(cursor, end)
    if device.size // SECTOR > cursor:
        regions.append((cursor, device.size // SECTOR))
    return regions


def free_bytes(metadata: Metadata) -> int:
    """The bytes of super no logical partition holds."""
    return sum(end - start for start, end in _free_regions(metadata, metadata.super_device)) * SECTOR


def _aligned(device: BlockDevice, sector: int) -> int:
    if not device.alignment or device.alignment % SECTOR:
        return sector
    step, offset = device.alignment // SECTOR, device.alignment_offset // SECTOR
    return -(-(sector - offset) // step) * step + offset


def resize(metadata: Metadata, name: str, size: int) -> Metadata:
    """Logical partition `name` holding `size` bytes (rounded up to a logical block)."""
    index = _index(metadata, name)
    partition = metadata.partitions[index]
    block = metadata.geometry.logical_block_size
    device = metadata.super_device
    if size < 0 or size > device.size:
        raise NoSpaceInSuper(f"{name} cannot hold {size} bytes: super has {device.size}")
    wanted = -(-size // block) * block // SECTOR
    group = metadata.groups[partition.group_index]
    if group.maximum_size:
        others = sum(p.size for i, p in enumerate(metadata.partitions)
                     if p.group_index == partition.group_index and i != index)
        if others + wanted * SECTOR > group.maximum_size:
            raise NoSpaceInSuper(f"{name} needs {wanted * SECTOR} bytes but group {group.name} has "
                                 f"{group.maximum_size - others} left of its {group.maximum_size}")
    extents = _shrunk(partition.extents, wanted) if wanted <= partition.size // SECTOR else \
        _grown(metadata, index, wanted - partition.size // SECTOR)
    partitions = list(metadata.partitions)
    partitions[index] = dataclasses.replace(partition, extents=tuple(extents))
    return dataclasses.replace(metadata, partitions=tuple(partitions))


def _shrunk(extents: tuple[Extent, ...], sectors: int) -> list[Extent]:
    kept = []
    for extent in extents:
        if sectors <= 0:
            break
        take = min(extent.num_sectors, sectors)
        kept.append(dataclasses.replace(extent, num_sectors=take))
        sectors -= take
    return kept


def _grown(metadata: Metadata, index: int, more: int) -> list[Extent]:
    device = metadata.super_device
    block_sectors = metadata.geometry.logical_block_size // SECTOR
    extents = list(metadata.partitions[index].extents)
    last_end = extents[-1].target_data + extents[-1].num_sectors if extents else None
    left = more
    for start, end in _free_regions(metadata, device):
        if left == 0:
            break
        if start != last_end:  # a new extent starts aligned; extending the last one need not
            start = _aligned(device, start)
        usable = (end - start) // block_sectors * block_sectors
        if usable <= 0:
            continue
        take = min(usable, left)
        if extents and start == last_end and extents[-1].target_type == TARGET_LINEAR:
            extents[-1] = dataclasses.replace(extents[-1], num_sectors=extents[-1].num_sectors + take)
        else:
            extents.append(Extent(take, TARGET_LINEAR, start, 0))
        left -= take
    if left:
        name = metadata.partitions[index].name
        raise NoSpaceInSuper(f"not enough free space in {device.partition_name} for {name}: "
                             f"{more * SECTOR} more bytes asked, {(more - left) * SECTOR} free")
    return extents


def import_partitions(new: Metadata, old: Metadata, names: set[str]) -> Metadata:
    """`new` with the named partitions of `old` kept where they are (update-super keeps the
    other slot's partitions). A group missing from `new` comes along from `old`."""
    result = new
    for partition in old.partitions:
        if partition.name not in names:
            continue
        group = old.groups[partition.group_index]
        if result.group(group.name) is None:
            result = dataclasses.replace(result, groups=result.groups + (group,))
        if result.partition(partition.name) is not None:
            result = delete_partition(result, partition.name)
        for extent in partition.extents:
            if extent.target_type == TARGET_LINEAR and extent.target_source != 0:
                raise LogicalPartitionError(f"{partition.name} lies on another block device and cannot be kept")
        kept = dataclasses.replace(partition, group_index=_group_index(result, group.name))
        result = dataclasses.replace(result, partitions=result.partitions + (kept,))
    _check_no_overlap(result)
    return result


def _check_no_overlap(metadata: Metadata) -> None:
    spans = sorted((e.target_data, e.target_data + e.num_sectors, p.name) for p in metadata.partitions
                   for e in p.extents if e.target_type == TARGET_LINEAR and e.target_source == 0)
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            raise LogicalPartitionError(f"logical partitions {first} and {second} would overlap in super")
