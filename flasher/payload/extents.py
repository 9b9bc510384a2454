"""Reading and writing a partition image by extents (runs of blocks), a bounded chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .errors import MalformedPayload, TruncatedPayload

CHUNK = 1 << 20
ZEROS = bytes(CHUNK)


class ExtentWriter:
    """Writes a stream of bytes into a file's extents in order; refuses bytes past their end."""

    def __init__(self, file: BinaryIO, extents, block_size: int, where: str):
        self.file = file
        self.spans = [(start * block_size, count * block_size) for start, count in extents]
        self.where = where
        self.index = self.used = 0

    @property
    def capacity(self) -> int:
        return sum(length for _, length in self.spans)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self.index == len(self.spans):
                raise MalformedPayload(f"{self.where} makes more data than its destination extents hold")
            start, length = self.spans[self.index]
            take = min(length - self.used, len(view))
            self.file.seek(start + self.used)
            self.file.write(view[:take])
            view = view[take:]
            self.used += take
            if self.used == length:
                self.index, self.used = self.index + 1, 0

    def fill_zeros(self) -> None:
        """Zeros to the end of the extents: ZERO, DISCARD, and the padding after a REPLACE's data."""
        while self.index < len(self.spans):
            start, length = self.spans[self.index]
            self.write(ZEROS[:min(CHUNK, length - self.used)])


def read_extents(file: BinaryIO, extents, block_size: int, limit: int | None, what: str) -> Iterator[bytes]:
    """The bytes of `extents` in order, at most `limit` of them, a chunk at a time."""
    left = limit if limit is not None else sum(count for _, count in extents) * block_size
    for start, count in extents:
        file.seek(start * block_size)
        span = min(count * block_size, left)
        left -= span
        while span:
            data = file.read(min(CHUNK, span))
            if not data:
                raise TruncatedPayload(f"{what} ends before block {start + count}")
            span -= len(data)
            yield data
        if not left:
            return
