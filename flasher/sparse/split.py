"""Cutting an image into sparse pieces that each fit a device's max-download-size.

This is what the AOSP fastboot client does for images larger than the download
buffer: every piece spans the whole image (full total_blks), carries one block
range and marks everything else DONT_CARE, so flashing the pieces in turn to
the same partition writes the image. Sizes are computed exactly, so each piece
carries as much as the limit allows (AOSP settles for 7/8 of it).
"""

from __future__ import annotations

from ..errors import FlasherError
from .format import CHUNK_HEADER_SIZE, FILE_HEADER_SIZE
from .runs import DONT_CARE, FILL, ImageSource, Runs, Source, scan
from .writer import Piece, max_raw_blocks


class LimitTooSmallError(FlasherError):
    """The size limit cannot hold a sparse image carrying even one block."""

    hint = ("The device's max-download-size is too small to flash this image; check the "
            "device (getvar max-download-size) or its bootloader.")


def split(source: Source, limit: int, block_size: int = 4096, *,
          use_fill: bool = True) -> list[Piece]:
    """Cut an image file (raw or sparse) into sparse pieces of at most `limit` bytes each.

    `source` is a path, a callable that opens the file, or a seekable binary
    file object; pieces read it again when streamed. A sparse source keeps its
    own block size. With use_fill=False constant blocks travel as RAW data, for
    bootloaders that reject FILL chunks.
    """
    if not isinstance(limit, int) or limit <= 0:
        raise LimitTooSmallError(f"size limit {limit!r} is not a positive number of bytes")
    src = ImageSource(source)
    runs = scan(source, block_size, use_fill=use_fill)
    pieces = [Piece(runs, src, a, b, use_fill) for a, b in plan_pieces(runs, limit, use_fill)]
    for piece in pieces:
        if piece.size > limit:  # pragma: no cover - a planning bug, never the user's doing
            raise AssertionError(f"planned {piece!r} exceeds the {limit}-byte limit")
    return pieces


def plan_pieces(runs: Runs, limit: int, use_fill: bool) -> list[tuple[int, int]]:
    """Block ranges [start, end) of the pieces, filled greedily up to `limit`.

    A piece costs its header, a leading DONT_CARE if it starts after block 0, a
    DONT_CARE per gap (sparse-source DONT_CARE runs), its chunks, and a trailing
    DONT_CARE if it ends before the last block; this mirrors `writer.plan`.
    """
    bs, total = runs.block_size, runs.total_blocks
    H, C = FILE_HEADER_SIZE, CHUNK_HEADER_SIZE
    cap = max_raw_blocks(bs)
    kinds, starts = runs.kinds, runs.starts
    ranges: list[tuple[int, int]] = []
    is_open = False
    p_start = p_end = used = 0
    for i in range(len(runs)):
        kind = kinds[i]
        if kind == DONT_CARE:
            continue
        cur, end = starts[i], runs.end(i)
        while cur < end:
            if is_open:
                base = used + (C if cur > p_end else 0)
            else:
                base = H + (C if cur > 0 else 0)
            if kind == FILL and use_fill:
                trail = C if end < total else 0
                take = end - cur if base + C + 4 + trail <= limit else 0
                cost = C + 4
            else:
                full = min(end - cur, cap)
                trail = C if cur + full < total else 0
                if base + C + full * bs + trail <= limit:
                    take = full
                else:
                    # Cut at a block boundary; a trailing DONT_CARE follows the cut.
                    take = max(0, (limit - base - 2 * C) // bs)
                cost = C + take * bs
            if take == 0:
                if not is_open:
                    need = base + (C + 4 if kind == FILL and use_fill else C + bs) + C
                    raise LimitTooSmallError(
                        f"a sparse piece of at most {limit} bytes cannot carry even one "
                        f"{bs}-byte block (it needs {need} bytes)")
                ranges.append((p_start, p_end))
                is_open = False
                continue
            if not is_open:
                p_start, is_open = cur, True
            used = base + cost
            cur += take
            p_end = cur
    if is_open:
        ranges.append((p_start, p_end))
    if not ranges:
        # Nothing to carry (empty, or all DONT_CARE): one piece that says so.
        need = H + (C if total else 0)
        if need > limit:
            raise LimitTooSmallError(
                f"a sparse piece of at most {limit} bytes cannot hold even an empty "
                f"image header (it needs {need} bytes)")
        ranges.append((0, 0))
    return ranges
