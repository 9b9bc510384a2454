"""Writing a staged download into a partition file, raw or sparse.

A sparse image is validated in full before the first byte is written, so a
malformed or oversized image leaves the partition as it was.
"""

from typing import BinaryIO

from ..errors import FlasherError
from ..sparse import SparseReader, is_sparse, validate

PIECE = 1 << 20


class ImageRejected(FlasherError):
    """The device refused an image; nothing was written."""


def write_image(staged: BinaryIO, staged_size: int, partition: BinaryIO, partition_size: int) -> None:
    staged.seek(0)
    head = staged.read(4)
    staged.seek(0)
    if is_sparse(head):
        _write_sparse(staged, partition, partition_size)
    else:
        _write_raw(staged, staged_size, partition, partition_size)
    partition.flush()


def _write_raw(staged: BinaryIO, size: int, partition: BinaryIO, partition_size: int) -> None:
    if size > partition_size:
        raise ImageRejected(f"image is {size} bytes, the partition holds {partition_size}")
    partition.seek(0)
    left = size
    while left:
        data = staged.read(min(PIECE, left))
        if not data:
            raise ImageRejected("download buffer ended early")
        partition.write(data)
        left -= len(data)


def _write_sparse(staged: BinaryIO, partition: BinaryIO, partition_size: int) -> None:
    summary = validate(staged)
    if summary.expanded_size > partition_size:
        raise ImageRejected(
            f"sparse image expands to {summary.expanded_size} bytes, the partition holds {partition_size}")
    staged.seek(0)
    reader = SparseReader(staged)
    for chunk in reader.chunks():
        if chunk.kind == "raw":
            partition.seek(chunk.out_offset)
            for data in reader.iter_raw(chunk, PIECE):
                partition.write(data)
        elif chunk.kind == "fill":
            partition.seek(chunk.out_offset)
            _write_fill(partition, chunk.fill, chunk.out_length)


def _write_fill(partition: BinaryIO, pattern: bytes, length: int) -> None:
    block = pattern * (min(PIECE, length) // 4)
    while length:
        n = min(len(block), length)
        partition.write(block[:n] if n < len(block) else block)
        length -= n
