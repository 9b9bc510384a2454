"""Reading sparse images: checked, streamed, never trusted.

A sparse image decides where bytes land on a partition, so it is checked before
it is believed: every chunk header is walked and checked against the file and
the declared block count before the first chunk is handed out, and `validate`
also checks CRC32 chunks, so a device can refuse a bad image having written
nothing. Data is only ever read in bounded pieces; images are GiB.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from .crc32 import crc32_repeat
from .format import (
    CHUNK_CRC32,
    CHUNK_FILL,
    CHUNK_KINDS,
    CHUNK_RAW,
    FILE_HEADER_SIZE,
    BadChunkSizeError,
    BlockCountError,
    CrcMismatchError,
    FileHeader,
    ImageTooLargeError,
    TruncatedImageError,
    UnknownChunkTypeError,
    chunk_data_size,
    unpack_chunk_header,
    unpack_file_header,
)

PIECE = 1 << 20
_ZERO4 = bytes(4)


@dataclass(frozen=True)
class Chunk:
    """One chunk, placed in the expanded image.

    out_offset/out_length are bytes of the expanded image. `fill` is the 4-byte
    pattern of a fill chunk; `source_offset` is where a raw chunk's data sits in
    the sparse file (read it with `SparseReader.iter_raw`); `crc` is a CRC32
    chunk's stored value.
    """

    index: int
    kind: str
    out_offset: int
    out_length: int
    fill: bytes | None = None
    source_offset: int | None = None
    crc: int | None = None
    _owner: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class SparseSummary:
    """What `validate` found in a whole, well-formed image."""

    block_size: int
    total_blocks: int
    total_chunks: int
    expanded_size: int
    sparse_size: int  # bytes of the sparse file the image occupies
    raw_blocks: int
    fill_blocks: int
    dont_care_blocks: int
    crc_chunks: int


class SparseReader:
    """Walks a sparse image in a binary, seekable file positioned at its start.

    The file header is checked on construction. `chunks()` walks every chunk
    header once before yielding anything, so a malformed image raises
    SparseFormatError before the caller has acted on any chunk. CRC32 chunks are
    checked as they are reached (call `validate` first for all-or-nothing).
    """

    def __init__(self, fileobj: BinaryIO, *, max_size: int | None = None):
        self._f = fileobj
        self._base = fileobj.tell()
        self._file_end = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(self._base)
        self.header: FileHeader = unpack_file_header(fileobj.read(FILE_HEADER_SIZE))
        h = self.header
        if self._file_end - self._base < h.file_hdr_sz:
            raise TruncatedImageError(
                f"sparse image ends inside its {h.file_hdr_sz}-byte header")
        self.block_size = h.block_size
        self.total_blocks = h.total_blocks
        self.total_chunks = h.total_chunks
        self.expanded_size = h.expanded_size
        if max_size is not None and self.expanded_size > max_size:
            raise ImageTooLargeError(
                f"sparse image expands to {self.expanded_size} bytes, more than the "
                f"{max_size} allowed")
        self.has_crc = False
        self.sparse_size = 0
        # CRC bookkeeping shared with iter_raw: the running CRC before the current
        # raw chunk, and the CRC after it if the caller streamed it whole.
        self._crc_before: tuple[int, int] | None = None
        self._crc_after: tuple[int, int] | None = None

    # -- structure ---------------------------------------------------------

    def _headers(self) -> Iterator[tuple[int, int, int, int, int, bytes]]:
        """Yield (index, type, first_block, blocks, data_offset, small_data) per chunk, checked.

        small_data is the 4-byte payload of fill and CRC32 chunks, else b"".
        """
        f, h = self._f, self.header
        bs, chdr = h.block_size, h.chunk_hdr_sz
        pos = self._base + h.file_hdr_sz
        block = 0
        for index in range(h.total_chunks):
            f.seek(pos)
            raw = f.read(chdr)
            if len(raw) < chdr:
                raise TruncatedImageError(
                    f"sparse image ends inside the header of chunk {index} "
                    f"(of {h.total_chunks}) at byte {pos - self._base}")
            c = unpack_chunk_header(raw)
            where = f"chunk {index} at byte {pos - self._base}"
            if c.chunk_type not in CHUNK_KINDS:
                raise UnknownChunkTypeError(
                    f"{where} has unknown type 0x{c.chunk_type:04X}")
            if c.total_sz < chdr:
                raise BadChunkSizeError(
                    f"{where} declares total_sz {c.total_sz}, less than its {chdr}-byte header")
            data_size = c.total_sz - chdr
            want = chunk_data_size(c.chunk_type, c.chunk_sz, bs)
            kind = CHUNK_KINDS[c.chunk_type]
            if data_size != want:
                raise BadChunkSizeError(
                    f"{where} ({kind}, {c.chunk_sz} blocks) carries {data_size} data bytes; "
                    f"a {kind} chunk of that size carries {want}")
            if c.chunk_type == CHUNK_CRC32 and c.chunk_sz:
                raise BadChunkSizeError(
                    f"{where} is a CRC32 chunk covering {c.chunk_sz} blocks; it must cover 0")
            if block + c.chunk_sz > h.total_blocks:
                raise BlockCountError(
                    f"{where} ({kind}, {c.chunk_sz} blocks from block {block}) runs past the "
                    f"image's {h.total_blocks} blocks")
            data_offset = pos + chdr
            end = data_offset + data_size
            if end > self._file_end:
                raise TruncatedImageError(
                    f"sparse image ends inside {where} ({kind}): needs {end - self._base} "
                    f"bytes, the file has {self._file_end - self._base}")
            small = b""
            if data_size == 4:
                small = f.read(4)
                if len(small) != 4:
                    raise TruncatedImageError(f"sparse image ends inside {where}")
            yield index, c.chunk_type, block, c.chunk_sz, data_offset, small
            block += c.chunk_sz
            pos = end
        if block != h.total_blocks:
            raise BlockCountError(
                f"sparse image chunks cover {block} blocks but the header declares "
                f"{h.total_blocks}")
        self.sparse_size = pos - self._base

    def _check_structure(self) -> None:
        has_crc = False
        for _, ctype, _, _, _, _ in self._headers():
            has_crc = has_crc or ctype == CHUNK_CRC32
        self.has_crc = has_crc

    # -- chunks ------------------------------------------------------------

    def chunks(self, *, verify_crc: bool = True) -> Iterator[Chunk]:
        """Yield every chunk in order, after checking the whole chunk structure.

        A CRC32 chunk that disagrees with the data before it (DONT_CARE counting
        as zeros, as libsparse's reader counts it) raises CrcMismatchError
        instead of being yielded.
        """
        self._check_structure()
        track = verify_crc and self.has_crc
        bs = self.block_size
        running = 0
        for index, ctype, block, blocks, data_offset, small in self._headers():
            kind = CHUNK_KINDS[ctype]
            if ctype == CHUNK_CRC32:
                stored = int.from_bytes(small, "little")
                if track and stored != running:
                    raise CrcMismatchError(
                        f"CRC32 chunk {index} holds 0x{stored:08x} but the data before it "
                        f"has CRC32 0x{running:08x}")
                yield Chunk(index, kind, block * bs, 0, crc=stored, _owner=self)
                continue
            length = blocks * bs
            if ctype == CHUNK_RAW:
                chunk = Chunk(index, kind, block * bs, length, source_offset=data_offset,
                              _owner=self)
                if track:
                    self._crc_before, self._crc_after = (index, running), None
                yield chunk
                if track:
                    done = self._crc_after
                    self._crc_before = self._crc_after = None
                    if done is not None and done[0] == index:
                        running = done[1]
                    else:
                        running = self._crc_of_raw(chunk, running)
            elif ctype == CHUNK_FILL:
                yield Chunk(index, kind, block * bs, length, fill=small, _owner=self)
                if track:
                    running = crc32_repeat(small, length, running)
            else:
                yield Chunk(index, kind, block * bs, length, _owner=self)
                if track:
                    running = crc32_repeat(_ZERO4, length, running)

    def _crc_of_raw(self, chunk: Chunk, crc: int) -> int:
        for piece in self._read_range(chunk.source_offset, chunk.out_length, PIECE):
            crc = zlib.crc32(piece, crc)
        return crc

    # -- data --------------------------------------------------------------

    def iter_raw(self, chunk: Chunk, piece_size: int = PIECE) -> Iterator[bytes]:
        """Yield a raw chunk's data in pieces of at most piece_size bytes.

        Reads by the chunk's own source_offset, so it returns the right bytes
        whatever the file position and whichever chunks were skipped.
        """
        if chunk._owner is not self:
            raise ValueError("this chunk was not produced by this SparseReader")
        if chunk.kind != "raw":
            raise ValueError(f"chunk {chunk.index} is a {chunk.kind} chunk, not raw")
        if piece_size <= 0:
            raise ValueError("piece_size must be positive")
        pending = self._crc_before
        crc = pending[1] if pending is not None and pending[0] == chunk.index else None
        for piece in self._read_range(chunk.source_offset, chunk.out_length, piece_size):
            if crc is not None:
                crc = zlib.crc32(piece, crc)
            yield piece
        if crc is not None:
            self._crc_after = (chunk.index, crc)

    def _read_range(self, offset: int, length: int, piece_size: int) -> Iterator[bytes]:
        f = self._f
        done = 0
        while done < length:
            n = min(piece_size, length - done)
            f.seek(offset + done)
            data = f.read(n)
            if len(data) != n:
                raise TruncatedImageError(
                    f"sparse image ended while reading raw data at byte "
                    f"{offset + done - self._base} (the file shrank after it was checked)")
            yield data
            done += n


def validate(fileobj: BinaryIO, *, max_size: int | None = None,
             verify_crc: bool = True) -> SparseSummary:
    """Check a whole sparse image, CRC32 chunks included, without writing anything.

    Leaves the file positioned where the image starts. Raises SparseFormatError
    (or a subclass) naming the first fault. Raw data is read only when the
    image has CRC32 chunks to check it against.
    """
    start = fileobj.tell()
    try:
        reader = SparseReader(fileobj, max_size=max_size)
        raw = fill = dont_care = crcs = 0
        for chunk in reader.chunks(verify_crc=verify_crc):
            blocks = chunk.out_length // reader.block_size
            if chunk.kind == "raw":
                raw += blocks
            elif chunk.kind == "fill":
                fill += blocks
            elif chunk.kind == "dont_care":
                dont_care += blocks
            else:
                crcs += 1
        return SparseSummary(reader.block_size, reader.total_blocks, reader.total_chunks,
                             reader.expanded_size, reader.sparse_size, raw, fill, dont_care,
                             crcs)
    finally:
        fileobj.seek(start)


def expand(src: BinaryIO, dst: BinaryIO, *, max_size: int | None = None,
           piece_size: int = PIECE, fit: bool = True) -> int:
    """Write the image held in sparse `src` to `dst` as raw bytes; returns its size.

    Offsets are relative to dst's position at the call. DONT_CARE ranges are
    seeked over, so bytes already in dst stay (as on a partition). With `fit`,
    dst is truncated or extended to end exactly at the expanded size (an image
    file); without it dst keeps its length (a partition). The chunk
    structure is checked before anything is written; a bad CRC32 chunk is only
    found when reached, so call `validate` first if dst must stay untouched.
    """
    reader = SparseReader(src, max_size=max_size)
    base = dst.tell()
    for chunk in reader.chunks():
        if chunk.kind == "raw":
            dst.seek(base + chunk.out_offset)
            for data in reader.iter_raw(chunk, piece_size):
                dst.write(data)
        elif chunk.kind == "fill":
            dst.seek(base + chunk.out_offset)
            _write_fill(dst, chunk.fill, chunk.out_length, piece_size)
    end = base + reader.expanded_size
    if not fit:
        return reader.expanded_size
    dst.truncate(end)
    if dst.seek(0, os.SEEK_END) < end:
        # Some streams (io.BytesIO) only shrink on truncate; a trailing DONT_CARE
        # still has to leave the image its full size.
        dst.seek(end - 1)
        dst.write(b"\0")
    dst.seek(end)
    return reader.expanded_size


def _write_fill(dst: BinaryIO, pattern: bytes, length: int, piece_size: int) -> None:
    unit = pattern * max(1, min(piece_size, length) // 4)
    while length:
        n = min(len(unit), length)
        dst.write(unit if n == len(unit) else unit[:n])
        length -= n
