"""The DeltaArchiveManifest, the subset of update_metadata.proto TSUF reads, parsed with bounds.

Field numbers are those of AOSP's update_metadata.proto (proto2). Everything is
checked here, before any byte is written: counts, block size, every extent inside
its partition, every blob inside the payload's data, and each operation's type
(unknown and unsupported operations are refused by name).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import operations
from .errors import MalformedPayload, TruncatedPayload, UnsupportedOperation
from .wire import LENGTH, VARINT, expect, fields

MAX_GROUPS = 64
MAX_PARTITIONS = 256
MAX_OPERATIONS = 250_000
MAX_EXTENTS = 1_000_000
MAX_PARTITION_SIZE = 1 << 40
MIN_BLOCK_SIZE, MAX_BLOCK_SIZE = 512, 1 << 16
MAX_NAME = 64
SPARSE_HOLE = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    size: int
    sha256: bytes


@dataclass(frozen=True, slots=True)
class Operation:
    type: int
    data_offset: int
    data_length: int
    src_extents: tuple[tuple[int, int], ...]
    dst_extents: tuple[tuple[int, int], ...]
    src_length: int
    dst_length: int
    data_sha256: bytes
    src_sha256: bytes

    @property
    def name(self) -> str:
        return operations.name_of(self.type)


@dataclass(frozen=True)
class Partition:
    name: str
    operations: tuple[Operation, ...]
    new_info: PartitionInfo
    old_info: PartitionInfo | None

    def operation_counts(self) -> dict[str, int]:
        return dict(Counter(op.name for op in self.operations))

    def output_bytes(self, block_size: int) -> int:
        return sum(count for op in self.operations for _, count in op.dst_extents) * block_size

    @property
    def incremental(self) -> bool:
        return any(op.type in operations.FROM_SOURCE for op in self.operations)


@dataclass(frozen=True)
class Group:
    """A group of logical partitions inside super, and the most bytes they may take together per slot."""

    name: str
    size: int
    partitions: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    block_size: int
    minor_version: int
    partitions: tuple[Partition, ...]
    signatures_offset: int | None
    signatures_size: int | None
    max_timestamp: int | None
    groups: tuple[Group, ...] | None = None
    """The dynamic partition groups (DynamicPartitionMetadata): the partitions that live inside super."""

    @property
    def dynamic_partitions(self) -> bool:
        return self.groups is not None

    @property
    def full(self) -> bool:
        return not any(partition.incremental for partition in self.partitions)

    def partition(self, name: str) -> Partition | None:
        return next((partition for partition in self.partitions if partition.name == name), None)


class _Budget:
    """Counts what a hostile manifest could multiply: operations and extents."""

    def __init__(self):
        self.operations = self.extents = 0

    def spend(self, operations_: int = 0, extents: int = 0) -> None:
        self.operations += operations_
        self.extents += extents
        if self.operations > MAX_OPERATIONS or self.extents > MAX_EXTENTS:
            raise MalformedPayload(f"the manifest has more than {MAX_OPERATIONS} operations or {MAX_EXTENTS} extents")


def parse_manifest(data: bytes, data_size: int) -> Manifest:
    """The manifest of a payload whose data blobs (after the metadata signature) are `data_size` bytes."""
    view = memoryview(data)
    block_size, minor, timestamp = 4096, 0, None
    signatures_offset = signatures_size = None
    raw_partitions = []
    groups: tuple[Group, ...] | None = None
    for number, wire_type, value in fields(view, "the manifest"):
        if number in (1, 2):
            raise MalformedPayload("the manifest has major-version-1 install operations; this is not a version 2 "
                                   "payload")
        if number == 3:
            block_size = expect(value, wire_type, VARINT, "block_size")
        elif number == 4:
            signatures_offset = expect(value, wire_type, VARINT, "signatures_offset")
        elif number == 5:
            signatures_size = expect(value, wire_type, VARINT, "signatures_size")
        elif number == 12:
            minor = expect(value, wire_type, VARINT, "minor_version")
        elif number == 13:
            raw_partitions.append(expect(value, wire_type, LENGTH, "a partition"))
            if len(raw_partitions) > MAX_PARTITIONS:
                raise MalformedPayload(f"the manifest names more than {MAX_PARTITIONS} partitions")
        elif number == 14:
            timestamp = expect(value, wire_type, VARINT, "max_timestamp")
        elif number == 15:
            groups = _groups(expect(value, wire_type, LENGTH, "dynamic_partition_metadata"))
    if not (MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE and block_size & (block_size - 1) == 0):
        raise MalformedPayload(f"the manifest's block size {block_size} is not a power of two from "
                               f"{MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE}")
    if (signatures_offset is None) != (signatures_size is None):
        raise MalformedPayload("the manifest gives only one of signatures_offset and signatures_size")
    if signatures_offset is not None and signatures_offset + signatures_size > data_size:
        raise TruncatedPayload(f"the payload ends before its signatures ({signatures_size} bytes at "
                               f"{signatures_offset} of {data_size} bytes of data)")
    # Operations' data lies before the payload signatures, which come last.
    blobs_size = data_size if signatures_offset is None else signatures_offset
    budget = _Budget()
    partitions = tuple(_partition(raw, block_size, blobs_size, budget) for raw in raw_partitions)
    names = [partition.name for partition in partitions]
    if len(set(names)) != len(names):
        raise MalformedPayload("the manifest names a partition twice")
    if groups is not None:
        grouped = [name for group in groups for name in group.partitions]
        if len(set(grouped)) != len(grouped) or not set(grouped) <= set(names):
            raise MalformedPayload("the dynamic partition groups name a partition twice, or one the payload "
                                   "does not hold")
    return Manifest(block_size, minor, partitions, signatures_offset, signatures_size, timestamp, groups)


def _partition(message: memoryview, block_size: int, data_size: int, budget: _Budget) -> Partition:
    name, new_info, old_info, raw_operations = None, None, None, []
    for number, wire_type, value in fields(message, "a partition"):
        if number == 1:
            name = _name(expect(value, wire_type, LENGTH, "partition_name"))
        elif number == 6:
            old_info = _info(expect(value, wire_type, LENGTH, "old_partition_info"))
        elif number == 7:
            new_info = _info(expect(value, wire_type, LENGTH, "new_partition_info"))
        elif number == 8:
            raw_operations.append(expect(value, wire_type, LENGTH, "an operation"))
            budget.spend(operations_=1)
    if name is None:
        raise MalformedPayload("a partition in the manifest has no name")
    if new_info is None:
        raise MalformedPayload(f"partition {name} has no new_partition_info (size and hash)")
    blocks = -(-new_info.size // block_size)
    ops = tuple(_operation(raw, name, blocks, block_size, data_size, budget) for raw in raw_operations)
    return Partition(name, ops, new_info, old_info)


def _groups(message: memoryview) -> tuple[Group, ...]:
    groups = []
    for number, wire_type, value in fields(message, "dynamic_partition_metadata"):
        if number == 1:
            groups.append(_group(expect(value, wire_type, LENGTH, "a partition group")))
            if len(groups) > MAX_GROUPS:
                raise MalformedPayload(f"the manifest names more than {MAX_GROUPS} partition groups")
    return tuple(groups)


def _group(message: memoryview) -> Group:
    name, size, partitions = None, 0, []
    for number, wire_type, value in fields(message, "a partition group"):
        if number == 1:
            name = _name(expect(value, wire_type, LENGTH, "the group's name"))
        elif number == 2:
            size = expect(value, wire_type, VARINT, "the group's size")
        elif number == 3:
            partitions.append(_name(expect(value, wire_type, LENGTH, "a partition of the group")))
            if len(partitions) > MAX_PARTITIONS:
                raise MalformedPayload(f"a partition group names more than {MAX_PARTITIONS} partitions")
    if name is None:
        raise MalformedPayload("a partition group in the manifest has no name")
    return Group(name, size, tuple(partitions))


def _name(value: memoryview) -> str:
    try:
        name = bytes(value).decode("ascii")
    except UnicodeDecodeError:
        name = ""
    if not (0 < len(name) <= MAX_NAME and all(c.isalnum() or c in "_-." for c in name) and name[0] != "."):
        raise MalformedPayload(f"a partition name is not 1 to {MAX_NAME} letters, digits and _-.: "
                               f"{bytes(value[:MAX_NAME])!r}")
    return name


def _info(message: memoryview) -> PartitionInfo:
    size, digest = 0, b""
    for number, wire_type, value in fields(message, "a partition info"):
        if number == 1:
            size = expect(value, wire_type, VARINT, "a partition size")
        elif number == 2:
            digest = bytes(expect(value, wire_type, LENGTH, "a partition hash"))
    if size > MAX_PARTITION_SIZE:
        raise MalformedPayload(f"a partition of {size} bytes is larger than {MAX_PARTITION_SIZE} (1 TiB)")
    if digest and len(digest) != 32:
        raise MalformedPayload("a partition hash is not 32 bytes of SHA-256")
    return PartitionInfo(size, digest)


def _operation(message: memoryview, partition: str, blocks: int, block_size: int, data_size: int,
               budget: _Budget) -> Operation:
    where = f"partition {partition}: an operation"
    values = {"type": None, "data_offset": 0, "data_length": 0, "src_length": 0, "dst_length": 0,
              "data_sha256": b"", "src_sha256": b""}
    src, dst = [], []
    for number, wire_type, value in fields(message, where):
        if number == 1:
            values["type"] = expect(value, wire_type, VARINT, "an operation type")
        elif number in (2, 3, 5, 7):
            key = {2: "data_offset", 3: "data_length", 5: "src_length", 7: "dst_length"}[number]
            values[key] = expect(value, wire_type, VARINT, key)
        elif number in (4, 6):
            (src if number == 4 else dst).append(_extent(expect(value, wire_type, LENGTH, "an extent"), where))
            budget.spend(extents=1)
        elif number in (8, 9):
            digest = bytes(expect(value, wire_type, LENGTH, "an operation hash"))
            if digest and len(digest) != 32:
                raise MalformedPayload(f"{where} has a hash that is not 32 bytes of SHA-256")
            values["data_sha256" if number == 8 else "src_sha256"] = digest
    op = Operation(src_extents=tuple(src), dst_extents=tuple(dst), **values)
    if op.type is None:
        raise MalformedPayload(f"{where} has no type")
    if op.type not in operations.APPLIED:
        raise UnsupportedOperation(f"partition {partition} uses {op.name}, which TSUF does not apply; "
                                   "nothing was written")
    where = f"partition {partition}: a {op.name} operation"
    _check_extents(op.dst_extents, blocks, where, "destination")
    if not op.dst_extents:
        raise MalformedPayload(f"{where} writes nowhere (no destination extents)")
    if op.type in operations.FROM_SOURCE and not op.src_extents:
        raise MalformedPayload(f"{where} reads no source extents")
    if op.type in operations.WITH_DATA:
        if op.data_offset + op.data_length > data_size:
            raise MalformedPayload(f"{where} takes {op.data_length} bytes at {op.data_offset}, outside the "
                                   f"payload's {data_size} bytes of operation data")
        if not op.data_sha256:
            raise MalformedPayload(f"{where} has no data_sha256_hash, so its data cannot be checked")
    dst_bytes = sum(count for _, count in op.dst_extents) * block_size
    if op.type == operations.SOURCE_COPY and sum(count for _, count in op.src_extents) * block_size != dst_bytes:
        raise MalformedPayload(f"{where} copies a source of another size than its destination")
    return op


def _extent(message: memoryview, where: str) -> tuple[int, int]:
    start, count = 0, 0
    for number, wire_type, value in fields(message, where):
        if number == 1:
            start = expect(value, wire_type, VARINT, "start_block")
        elif number == 2:
            count = expect(value, wire_type, VARINT, "num_blocks")
    return start, count


def _check_extents(extents, blocks: int, where: str, what: str) -> None:
    for start, count in extents:
        if start == SPARSE_HOLE:
            raise MalformedPayload(f"{where} has a sparse-hole {what} extent, which a partition cannot hold")
        if count == 0 or start + count > blocks:
            raise MalformedPayload(f"{where} has a {what} extent (blocks {start} + {count}) outside the "
                                   f"partition's {blocks} blocks")


def check_source_extents(partition: Partition, source_blocks: int, block_size: int) -> None:
    """Every source extent inside the source image, before anything is read from it."""
    for op in partition.operations:
        if op.type in operations.FROM_SOURCE:
            _check_extents(op.src_extents, source_blocks, f"partition {partition.name}: a {op.name} operation",
                           "source")
