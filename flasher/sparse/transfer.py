"""How an image travels to a partition: as it is, or as sparse pieces.

The rules follow the AOSP fastboot client, so the partition ends up as the
stock client leaves it:

- A raw image that fits one download (max-download-size) is sent as it is,
  and the device writes exactly its bytes: whatever lies past its last byte on
  the partition stays.
- A larger raw image is cut into sparse pieces. Sparse data is counted in
  whole blocks, so a last partial block is completed with zeros, as libsparse
  does: the device then zeroes the rest of that block, as with the stock
  client, and nothing past it.
- A sparse image is cut into pieces of at most the limit (one piece when it
  fits); its DONT_CARE ranges stay untouched.

Two departures, for speed, neither changing what the device writes:

- A raw image that fits one download, is a whole number of blocks, and has
  enough constant blocks that FILL chunks shrink it by a quarter or more,
  travels as one sparse image, so the link carries far fewer bytes, when the
  link's time saved outweighs what the extra chunks may cost the device: a
  device writes each chunk separately, and a FILL chunk as data, so on a fast
  link (TCP) a fragmented image goes faster as it is. The image is scanned
  for that only when a sample says the link time saved may exceed the scan's
  own cost: never on loopback, where the link is as fast as the scan (nor
  sampled there).
- A larger raw image in which a sample of blocks finds not one constant block
  is cut into pieces without scanning it: FILL could spare the link next to
  nothing, and the scan would cost a read of the whole file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

from ..transport.base import FileSpan
from .format import is_sparse
from .runs import ImageSource, Source, SourceChangedError, scan
from .split import split
from .writer import Piece

SPARSE_WORTH = 3 / 4
"""Send a fitting image sparse only when that carries at most this share of its bytes."""

CHUNK_SECONDS = 0.02
"""The most one more chunk may cost a device to write (fastbootd: a write and fsync each; docs/real-handsets.md)."""

SAMPLE_BLOCKS = 256
"""Blocks looked at, spread over the image, before scanning it whole for FILL savings."""

SAMPLE_CONSTANT_SHARE = 1 / 8
"""An image that fits one download is scanned only when at least this share of the sampled blocks is constant."""

SCAN_RATE = 1e9
"""Bytes per second a scan reads and compares (a file in the page cache is faster, one on disk slower)."""


class RawImage:
    """The image file sent as it is, in one download."""

    def __init__(self, source: ImageSource, size: int):
        self._source = source
        self.size = size

    def __repr__(self) -> str:
        return f"RawImage({self.size} bytes)"

    def stream(self, piece_size: int) -> Iterator[bytes]:
        """The file's bytes in pieces of piece_size (the last may be short)."""
        if piece_size <= 0:
            raise ValueError("piece_size must be positive")
        return self._stream(piece_size)

    def spans(self, limit: int) -> Iterator[FileSpan]:
        """The file as spans of at most `limit` bytes, for links that send files without reading them."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        return self._spans(limit)

    def _spans(self, limit: int) -> Iterator[FileSpan]:
        with self._source.open() as f:
            size = f.seek(0, os.SEEK_END)
            if size != self.size:
                raise SourceChangedError(f"{self._source.name} is {size} bytes now; it was {self.size} when planned")
            for offset in range(0, size, limit):
                yield FileSpan(f, offset, min(limit, size - offset))

    def _stream(self, piece_size: int) -> Iterator[bytes]:
        with self._source.open() as f:
            f.seek(0)
            left = self.size
            while left:
                data = f.read(min(piece_size, left))
                if not data:
                    raise SourceChangedError(f"{self._source.name} ended {left} bytes early while being sent; "
                                             f"it was {self.size} bytes")
                left -= len(data)
                yield data


@dataclass(frozen=True)
class Transfer:
    """The downloads that write one image, each followed by a flash command."""

    downloads: list[RawImage | Piece]
    written_size: int
    """Bytes the device writes to the partition (a sparse image's blocks are whole)."""

    @property
    def sparse(self) -> bool:
        return isinstance(self.downloads[0], Piece)


def plan_transfer(source: Source, limit: int, block_size: int = 4096, *, use_fill: bool = True,
                  link_rate: float | None = None) -> Transfer:
    """The downloads that write `source` (a raw or sparse image) through a `limit`-byte download buffer.

    `link_rate` (bytes per second, Transport.link_rate) weighs the bytes a sparse
    image spares the link against its chunks; None counts bytes alone.
    """
    src = ImageSource(source)
    with src.open() as f:
        f.seek(0)
        head = f.read(4)
        size = f.seek(0, os.SEEK_END)
        raw = not is_sparse(head)
        fits = raw and 0 < size <= limit
        if fits and not _scan_pays(size, 1.0, link_rate):
            # Not even an image of constant blocks would repay its scan on this link: no sample either.
            return Transfer([RawImage(src, size)], size)
        constant_share = _sampled_constant_share(f, size, block_size) if raw and use_fill else 0.0
    if fits:
        if constant_share >= SAMPLE_CONSTANT_SHARE and size % block_size == 0 \
                and _scan_pays(size, constant_share, link_rate):
            runs = scan(source, block_size, use_fill=True)
            piece = Piece(runs, src, 0, runs.total_blocks, use_fill=True)
            if piece.size <= size * SPARSE_WORTH and _sparse_pays(size - piece.size, piece.chunk_count, link_rate):
                return Transfer([piece], size)
        return Transfer([RawImage(src, size)], size)
    # Not one constant block in the sample: FILL could spare the link next to nothing,
    # so the pieces carry everything as data and the image is not scanned.
    pieces = split(source, limit, block_size, use_fill=use_fill and (not raw or constant_share > 0))
    return Transfer(pieces, pieces[0].total_blocks * pieces[0].block_size)


def _sparse_pays(spared: int, chunks: int, link_rate: float | None) -> bool:
    """Whether sparing the link `spared` bytes is worth the device writing `chunks` chunks instead of one."""
    return link_rate is None or spared / link_rate > (chunks - 1) * CHUNK_SECONDS


def _scan_pays(size: int, constant_share: float, link_rate: float | None) -> bool:
    """Whether the bytes FILL would likely spare the link save more time than scanning the image costs."""
    return link_rate is None or constant_share * size / link_rate > size / SCAN_RATE


def _sampled_constant_share(f, size: int, block_size: int) -> float:
    """The share of constant blocks among blocks sampled evenly over the image.

    Only a guess at where FILL might pay: it decides whether to scan, never
    what a block is sent as.
    """
    blocks = size // block_size
    if not blocks:
        return 0.0
    step = max(1, blocks // SAMPLE_BLOCKS)
    sampled = constant = 0
    for block in range(0, blocks, step):
        f.seek(block * block_size)
        data = f.read(block_size)
        sampled += 1
        if data == data[:4] * (block_size // 4):
            constant += 1
    return constant / sampled
