"""Encoding sparse images from a run map, streamed from the source file.

A `Piece` is one sparse image that carries a block range of the source and
covers the rest of the image with DONT_CARE, so its size is known exactly before
a byte is sent (fastboot's download command needs it) and its bytes are made on
demand. `write_sparse` is the one-piece case: a whole image in one sparse file.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Iterator

from .format import (
    CHUNK_DONT_CARE,
    CHUNK_FILL,
    CHUNK_HEADER_SIZE,
    CHUNK_RAW,
    FILE_HEADER_SIZE,
    U32_MAX,
    pack_chunk_header,
    pack_file_header,
)
from ..transport.base import FileSpan
from .runs import DONT_CARE, FILL, ImageSource, Runs, Source, SourceChangedError, scan

PIECE = 1 << 20

# What a planned chunk is made of.
EMIT_RAW = 0        # data read from the source file
EMIT_FILL_DATA = 1  # a fill run sent as RAW data (use_fill=False)
EMIT_FILL = 2
EMIT_DONT_CARE = 3


# A chunk's total_sz is a uint32, so a RAW chunk carries just under 4 GiB.
MAX_CHUNK_BYTES = U32_MAX


def max_raw_blocks(block_size: int) -> int:
    """Blocks one RAW chunk can carry; longer data runs become several chunks."""
    return (MAX_CHUNK_BYTES - CHUNK_HEADER_SIZE) // block_size


def chunk_cost(emit: int, blocks: int, block_size: int) -> int:
    """Bytes a planned chunk takes in the sparse file."""
    if emit == EMIT_DONT_CARE:
        return CHUNK_HEADER_SIZE
    if emit == EMIT_FILL:
        return CHUNK_HEADER_SIZE + 4
    return CHUNK_HEADER_SIZE + blocks * block_size


def plan(runs: Runs, start: int, end: int, use_fill: bool) -> Iterator[tuple[int, int, int, int]]:
    """Chunks of a sparse image carrying blocks [start, end) of `runs`: (emit, block, blocks, value).

    Blocks outside the range are DONT_CARE, so the image always spans all
    total_blocks. For EMIT_RAW, value is the source offset of `block`; for fill
    chunks, the pattern.
    """
    total = runs.total_blocks
    bs = runs.block_size
    if start > 0:
        yield EMIT_DONT_CARE, 0, start, 0
    if start < end:
        cap = max_raw_blocks(bs)
        kinds, starts, values = runs.kinds, runs.starts, runs.values
        i = runs.index_at(start)
        pos = start
        while pos < end:
            kind, value = kinds[i], values[i]
            stop = min(runs.end(i), end)
            if kind == DONT_CARE:
                yield EMIT_DONT_CARE, pos, stop - pos, 0
            elif kind == FILL and use_fill:
                yield EMIT_FILL, pos, stop - pos, value
            else:
                emit = EMIT_RAW if kind != FILL else EMIT_FILL_DATA
                s = pos
                while s < stop:
                    n = min(stop - s, cap)
                    v = value + (s - starts[i]) * bs if emit == EMIT_RAW else value
                    yield emit, s, n, v
                    s += n
            pos = stop
            i += 1
    if end < total:
        yield EMIT_DONT_CARE, end, total - end, 0


class Piece:
    """One sparse image: blocks [start_block, end_block) of the source, the rest DONT_CARE.

    `size` is the exact byte length of the sparse image; `stream()` makes its
    bytes lazily from the source file.
    """

    def __init__(self, runs: Runs, source: ImageSource, start_block: int, end_block: int,
                 use_fill: bool = True):
        self._runs = runs
        self._source = source
        self.start_block = start_block
        self.end_block = end_block
        self.use_fill = use_fill
        self.block_size = runs.block_size
        self.total_blocks = runs.total_blocks
        size, count = FILE_HEADER_SIZE, 0
        for emit, _, blocks, _ in plan(runs, start_block, end_block, use_fill):
            size += chunk_cost(emit, blocks, runs.block_size)
            count += 1
        self.size = size
        self.chunk_count = count

    def __repr__(self) -> str:
        return (f"Piece(blocks {self.start_block}..{self.end_block} of {self.total_blocks}, "
                f"{self.size} bytes)")

    def stream(self, piece_size: int = PIECE) -> Iterator[bytes]:
        """Yield the sparse image in pieces of exactly piece_size bytes (the last may be short)."""
        if piece_size <= 0:
            raise ValueError("piece_size must be positive")
        return self._stream(piece_size)

    def _stream(self, n: int) -> Iterator[bytes]:
        runs = self._runs
        bs = runs.block_size
        out = bytearray(pack_file_header(bs, runs.total_blocks, self.chunk_count))
        sent = 0
        with self._source.open() as f:
            reader = _SourceReader(f, runs, self._source.name)
            for emit, _, blocks, value in plan(runs, self.start_block, self.end_block,
                                               self.use_fill):
                if emit == EMIT_DONT_CARE:
                    out += pack_chunk_header(CHUNK_DONT_CARE, blocks, CHUNK_HEADER_SIZE)
                elif emit == EMIT_FILL:
                    out += pack_chunk_header(CHUNK_FILL, blocks, CHUNK_HEADER_SIZE + 4)
                    out += value.to_bytes(4, "little")
                else:
                    length = blocks * bs
                    out += pack_chunk_header(CHUNK_RAW, blocks, CHUNK_HEADER_SIZE + length)
                    pos = 0
                    while pos < length:
                        while len(out) >= n:
                            yield bytes(out[:n])
                            del out[:n]
                            sent += n
                        want = min(length - pos, n - len(out))
                        if emit == EMIT_RAW:
                            data = reader.read(value + pos, want)
                        else:
                            data = _pattern_bytes(value, pos, want)
                        pos += want
                        if not out and want == n:
                            yield data
                            sent += n
                            continue
                        out += data
                        if len(out) == n:
                            yield bytes(out)
                            out.clear()
                            sent += n
                while len(out) >= n:
                    yield bytes(out[:n])
                    del out[:n]
                    sent += n
        if out:
            yield bytes(out)
            sent += len(out)
        if sent != self.size:  # pragma: no cover - a planning bug, never the user's doing
            raise AssertionError(f"sparse piece streamed {sent} bytes, planned {self.size}")


    def spans(self, limit: int = PIECE) -> Iterator[bytes | FileSpan]:
        """The sparse image as headers (bytes) and spans of the source file, each at most `limit` bytes.

        For links that send file data without reading it (TcpTransport.write_span).
        """
        if limit <= 0:
            raise ValueError("limit must be positive")
        return self._spans(limit)

    def _spans(self, limit: int) -> Iterator[bytes | FileSpan]:
        runs = self._runs
        bs = runs.block_size
        out = bytearray(pack_file_header(bs, runs.total_blocks, self.chunk_count))
        with self._source.open() as f:
            _SourceReader(f, runs, self._source.name)  # the file is still the size scanned
            for emit, _, blocks, value in plan(runs, self.start_block, self.end_block, self.use_fill):
                if emit == EMIT_DONT_CARE:
                    out += pack_chunk_header(CHUNK_DONT_CARE, blocks, CHUNK_HEADER_SIZE)
                    continue
                if emit == EMIT_FILL:
                    out += pack_chunk_header(CHUNK_FILL, blocks, CHUNK_HEADER_SIZE + 4)
                    out += value.to_bytes(4, "little")
                    continue
                length = blocks * bs
                out += pack_chunk_header(CHUNK_RAW, blocks, CHUNK_HEADER_SIZE + length)
                if emit == EMIT_RAW:
                    in_file = max(0, min(length, runs.source_size - value))
                    for pos in range(0, in_file, limit):
                        if out:
                            yield bytes(out)
                            out.clear()
                        yield FileSpan(f, value + pos, min(limit, in_file - pos))
                    out += bytes(length - in_file)  # raw input's short last block, completed with zeros
                else:
                    for pos in range(0, length, limit):
                        out += _pattern_bytes(value, pos, min(limit, length - pos))
                        if len(out) >= limit:
                            yield bytes(out)
                            out.clear()
            if out:
                yield bytes(out)


class _SourceReader:
    """Reads source ranges, padding raw input's short last block with zeros."""

    def __init__(self, f: BinaryIO, runs: Runs, name: str):
        self._f = f
        self._runs = runs
        self._name = name
        size = f.seek(0, os.SEEK_END)
        if size != runs.source_size:
            raise SourceChangedError(
                f"{name} is {size} bytes now; it was {runs.source_size} when scanned")

    def read(self, offset: int, want: int) -> bytes:
        runs = self._runs
        avail = max(0, min(want, runs.source_size - offset))
        # Always seek: a shared file object may have been moved by someone else.
        self._f.seek(offset)
        data = self._f.read(avail) if avail else b""
        if len(data) != avail:
            raise SourceChangedError(f"{self._name} ended at byte {offset + len(data)} while "
                                     f"being sent; it was {runs.source_size} bytes")
        if avail < want:
            if not runs.pad_tail:  # pragma: no cover - sparse input data lies inside the file
                raise SourceChangedError(f"{self._name} is shorter than its chunks say")
            data += bytes(want - avail)
        return data


def _pattern_bytes(value: int, pos: int, want: int) -> bytes:
    p = value.to_bytes(4, "little")
    phase = pos % 4
    p = p[phase:] + p[:phase]
    return (p * (want // 4 + 1))[:want]


def whole_image(source: Source, block_size: int = 4096, *, use_fill: bool = True) -> Piece:
    """The whole image as one sparse Piece (no size limit)."""
    src = ImageSource(source)
    runs = scan(source, block_size, use_fill=use_fill)
    return Piece(runs, src, 0, runs.total_blocks, use_fill)


def write_sparse(source: Source, dst: BinaryIO, block_size: int = 4096, *,
                 use_fill: bool = True) -> int:
    """Write the image (raw or sparse file) to `dst` as one sparse image; returns its size.

    Constant blocks become FILL chunks (RAW with use_fill=False); DONT_CARE is
    used only where a sparse source already had it. A raw source whose size is
    not a block multiple is padded with zeros to the next block, as img2simg
    does, so simg2img's expansion is block-padded.
    """
    piece = whole_image(source, block_size, use_fill=use_fill)
    for data in piece.stream(PIECE):
        dst.write(data)
    return piece.size
