"""Finding a target window's 4 KiB blocks in the source: copies, fills, and the residue left for bsdiff.

File systems move file data in whole blocks, and most blocks of a new build are in the
old one somewhere, or constant (free space). So each target block is, in this order:
a fill (one 4-byte pattern repeated), a copy of the source block where the previous
block's source continues (the common case: unchanged data in place, or moved as a run),
a copy of any source block with the same content (`SourceIndex`), or residue. Only the
residue is diffed, against a reference made of the source between the copies that
surround it (where its old version most likely is), or, in a window with no copy at
all, the source range `ShiftTracker` finds for the whole window.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO

from ..package.delta_manifest import FILL_PATTERN_SIZE, MAX_REFERENCE_EXTENTS, BlockOp
from .windows import ShiftTracker

BLOCK = 4096
# Source read around the gap between two copies: a changed block's old version may sit a little outside it.
MARGIN = 64 * 1024
# A gap between the surrounding copies this much larger than the residue is not where its old version is.
GAP_SLACK = 1 << 20
INDEX_READ = 1 << 20


def fill_pattern(block: bytes) -> bytes | None:
    """The 4-byte pattern a block repeats, or None."""
    pattern = block[:FILL_PATTERN_SIZE]
    return pattern if len(block) == BLOCK and block == pattern * (BLOCK // FILL_PATTERN_SIZE) else None


def _digest(block: bytes) -> bytes:
    return hashlib.blake2b(block, digest_size=8).digest()


class SourceIndex:
    """The source's whole 4 KiB blocks by content: the first offset of each distinct block that is not a fill."""

    def __init__(self, source: BinaryIO, size: int):
        self.fd = source.fileno()
        self.size = size
        self.offsets: dict[bytes, int] = {}
        self._ahead_at, self._ahead = 0, b""
        offset = 0
        while offset + BLOCK <= size:
            chunk = os.pread(self.fd, min(INDEX_READ, size - offset) // BLOCK * BLOCK, offset)
            if not chunk:
                break
            for at in range(0, len(chunk), BLOCK):
                block = chunk[at:at + BLOCK]
                if fill_pattern(block) is None:
                    self.offsets.setdefault(_digest(block), offset + at)
            offset += len(chunk)

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def holds_at(self, offset: int, block: bytes) -> bool:
        if not 0 <= offset <= self.size - len(block):
            return False
        # Blocks are mostly looked for where the previous one ended: read ahead, not a block at a time.
        if not self._ahead_at <= offset <= self._ahead_at + len(self._ahead) - len(block):
            self._ahead_at, self._ahead = offset, self.read(offset, INDEX_READ)
        at = offset - self._ahead_at
        return self._ahead[at:at + len(block)] == block

    def find(self, block: bytes) -> int | None:
        offset = self.offsets.get(_digest(block))
        return offset if offset is not None and self.holds_at(offset, block) else None


@dataclass
class Run:
    """`length` target bytes from `start` in the window, made by one operation."""

    kind: str
    start: int
    length: int
    source_offset: int = 0
    pattern: bytes = b""

    def continues(self, other: Run) -> bool:
        if other.kind != self.kind:
            return False
        if self.kind == "copy":
            return other.source_offset == self.source_offset + self.length
        return self.pattern == other.pattern

    def op(self) -> BlockOp:
        return BlockOp(self.kind, self.length, self.source_offset, self.pattern)


@dataclass(frozen=True)
class WindowPlan:
    ops: tuple[BlockOp, ...]
    reference: tuple[tuple[int, int], ...]
    residue: bytes  # the diff ops' target bytes, back to back


class Planner:
    """Plans the windows of one image in order; a run of copies may continue from one window into the next."""

    def __init__(self, index: SourceIndex, tracker: ShiftTracker, reference_budget: int):
        self.index = index
        self.tracker = tracker
        self.reference_budget = reference_budget
        self.next_source = 0  # where the source continues after the block last planned
        self.last_copy_end: int | None = None

    def plan(self, target_offset: int, data: bytes, max_ops: int) -> WindowPlan:
        entering_copy_end = self.last_copy_end
        runs: list[Run] = []
        for at in range(0, len(data), BLOCK):
            run = self._classify(at, data[at:at + BLOCK])
            if runs and runs[-1].continues(run):
                runs[-1].length += run.length
            else:
                runs.append(run)
        runs = _within(runs, max_ops)
        residue = b"".join(data[run.start:run.start + run.length] for run in runs if run.kind == "diff")
        reference = self._reference(runs, target_offset, data, entering_copy_end) if residue else ()
        return WindowPlan(tuple(run.op() for run in runs), reference, residue)

    def _classify(self, at: int, block: bytes) -> Run:
        guess, self.next_source = self.next_source, self.next_source + len(block)
        if len(block) == BLOCK:
            if (pattern := fill_pattern(block)) is not None:
                return Run("fill", at, BLOCK, pattern=pattern)
            found = guess if self.index.holds_at(guess, block) else self.index.find(block)
            if found is not None:
                self.next_source = self.last_copy_end = found + BLOCK
                return Run("copy", at, BLOCK, source_offset=found)
        return Run("diff", at, len(block))

    def _reference(self, runs: list[Run], target_offset: int, data: bytes,
                   copy_end: int | None) -> tuple[tuple[int, int], ...]:
        if not any(run.kind == "copy" for run in runs):
            where = self.tracker.source_range(target_offset, data)
            return _bounded([(where.source_offset, where.source_offset + where.source_size)], self.index.size,
                            self.reference_budget)
        extents = []
        for position, run in enumerate(runs):
            if run.kind == "copy":
                copy_end = run.source_offset + run.length
            elif run.kind == "diff":
                following = next((r.source_offset for r in runs[position + 1:] if r.kind == "copy"), None)
                extents += _around(run.length, copy_end, following)
        return _bounded(extents, self.index.size, self.reference_budget)


def _around(length: int, before: int | None, after: int | None) -> list[tuple[int, int]]:
    """Source ranges (start, end) where `length` residue bytes between copies ending at `before`
    and starting at `after` most likely came from."""
    if before is not None and after is not None and 0 <= after - before <= 2 * length + GAP_SLACK:
        return [(before - MARGIN, after + MARGIN)]
    extents = []
    if before is not None:
        extents.append((before - MARGIN, before + length + MARGIN))
    if after is not None:
        extents.append((after - length - MARGIN, after + MARGIN))
    return extents


def _bounded(extents: list[tuple[int, int]], source_size: int, budget: int) -> tuple[tuple[int, int], ...]:
    """(offset, length) extents: clamped to the source, sorted, merged, at most
    MAX_REFERENCE_EXTENTS of them (the closest merged first) and at most `budget` bytes."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(source_size, e)) for s, e in extents):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    while len(merged) > MAX_REFERENCE_EXTENTS:
        closest = min(range(len(merged) - 1), key=lambda i: merged[i + 1][0] - merged[i][1])
        merged[closest][1] = merged.pop(closest + 1)[1]
    bounded, total = [], 0
    for start, end in merged:
        length = min(end - start, budget - total)
        if length <= 0:
            break
        bounded.append((start, length))
        total += length
    return tuple(bounded)


def _within(runs: list[Run], max_ops: int) -> list[Run]:
    """The runs, with ever longer copy and fill runs turned into residue until at most `max_ops` remain."""
    shortest = BLOCK
    while len(runs) > max_ops:
        merged: list[Run] = []
        for run in runs:
            if run.kind != "diff" and run.length <= shortest:
                run = Run("diff", run.start, run.length)
            if merged and merged[-1].continues(run):
                merged[-1].length += run.length
            else:
                merged.append(run)
        runs, shortest = merged, shortest * 2
    return runs
