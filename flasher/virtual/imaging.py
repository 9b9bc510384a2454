"""Writing a staged download into a partition file, raw or sparse.

A sparse image is validated in full before the first byte is written, so a
malformed or oversized image leaves the partition as it was.
"""

from typing import BinaryIO

from ..errors import FlasherError
from ..sparse import expand, is_sparse, validate

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
    summary = validate(staged)  # every header and CRC, before the first write
    if summary.expanded_size > partition_size:
        raise ImageRejected(
            f"sparse image expands to {summary.expanded_size} bytes, the partition holds {partition_size}")
    partition.seek(0)
    expand(staged, partition, piece_size=PIECE, fit=False)
