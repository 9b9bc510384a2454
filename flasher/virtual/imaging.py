"""Writing a staged download into a partition file, raw or sparse.

A sparse image is validated in full before the first byte is written, so a
malformed or oversized image leaves the partition as it was.
"""

from dataclasses import dataclass
from typing import BinaryIO

from ..errors import FlasherError
from ..sparse import expand, is_sparse, validate

PIECE = 1 << 20


class ImageRejected(FlasherError):
    """The device refused an image; nothing was written."""


@dataclass(frozen=True)
class Written:
    """What a write cost the storage: bytes it wrote and separate chunk writes."""

    size: int
    chunks: int
    sparse: bool


def write_image(staged: BinaryIO, staged_size: int, partition: BinaryIO, partition_size: int, *,
                raw_block: int = 1) -> Written:
    """Write the image; a raw one is written in whole `raw_block`s, the last one padded
    with whatever the staging buffer holds past the image (as U-Boot writes its RAM)."""
    staged.seek(0)
    head = staged.read(4)
    staged.seek(0)
    if is_sparse(head):
        written = _write_sparse(staged, partition, partition_size)
    else:
        written = _write_raw(staged, staged_size, partition, partition_size, raw_block)
    partition.flush()
    return written


def _write_raw(staged: BinaryIO, size: int, partition: BinaryIO, partition_size: int, raw_block: int) -> Written:
    if size > partition_size:
        raise ImageRejected(f"image is {size} bytes, the partition holds {partition_size}")
    rounded = -(-size // raw_block) * raw_block
    if rounded > partition_size:
        raise ImageRejected(f"image is {size} bytes, {rounded} in whole blocks; the partition holds {partition_size}")
    partition.seek(0)
    left = size
    while left:
        data = staged.read(min(PIECE, left))
        if not data:
            raise ImageRejected("download buffer ended early")
        partition.write(data)
        left -= len(data)
    tail = rounded - size
    if tail:
        stale = staged.read(tail)
        partition.write(stale + bytes(tail - len(stale)))
    return Written(rounded, 1, sparse=False)


def _write_sparse(staged: BinaryIO, partition: BinaryIO, partition_size: int) -> Written:
    summary = validate(staged)  # every header and CRC, before the first write
    if summary.expanded_size > partition_size:
        raise ImageRejected(
            f"sparse image expands to {summary.expanded_size} bytes, the partition holds {partition_size}")
    partition.seek(0)
    expand(staged, partition, piece_size=PIECE, fit=False)
    # DONT_CARE chunks cost nothing; fill chunks are written like data.
    written = (summary.raw_blocks + summary.fill_blocks) * summary.block_size
    return Written(written, summary.total_chunks - summary.crc_chunks, sparse=True)
