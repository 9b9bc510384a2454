"""Cutting a target image into windows and finding, for each, the source range it came from.

Insertions shift everything after them, so the source range of a window is not
simply the same offsets: `ShiftTracker` looks up a few distinctive 64-byte probes
of each target window in the source near where the previous window was found,
and takes the shift most probes agree on. The source range is the target window
moved by that shift and widened by a margin, so moves within a window still
find their bytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO

from ..package.delta_manifest import MAX_WINDOW_TARGET, MAX_WINDOWS

MiB = 1 << 20
# bsdiff4 needs ~17x its source in memory: an 8 MiB window (10 MiB source) costs ~170 MiB per worker.
DEFAULT_WINDOW = 8 * MiB
PROBES = 16
PROBE_SIZE = 64
# Zero padding and fill patterns match anywhere; a probe must look like real content.
MIN_DISTINCT_BYTES = 16


@dataclass(frozen=True)
class WindowRange:
    target_offset: int
    target_size: int
    source_offset: int
    source_size: int


def window_size_for(total_bytes: int, requested: int = DEFAULT_WINDOW) -> int:
    """The requested size, grown (in MiB) only as far as the manifest's window count demands."""
    needed = -(-total_bytes // MAX_WINDOWS)
    if needed <= requested:
        return min(requested, MAX_WINDOW_TARGET)
    return min(-(-needed // MiB) * MiB, MAX_WINDOW_TARGET)


def read_range(file: BinaryIO, offset: int, size: int) -> bytes:
    file.seek(offset)
    data = file.read(size)
    if len(data) != size:
        raise EOFError(f"{getattr(file, 'name', 'file')} ended at {offset + len(data)}, before {offset + size}")
    return data


class ShiftTracker:
    """Follows where the target's content sits in the source, window after window."""

    def __init__(self, source: BinaryIO, source_size: int, window_size: int):
        self.source = source
        self.source_size = source_size
        self.radius = window_size
        self.margin = window_size // 8
        self.shift = 0

    def source_range(self, target_offset: int, target: bytes) -> WindowRange:
        self.shift = self._locate(target_offset, target)
        start = max(0, min(self.source_size, target_offset + self.shift - self.margin))
        end = max(start, min(self.source_size, target_offset + len(target) + self.shift + self.margin))
        return WindowRange(target_offset, len(target), start, end - start)

    def _locate(self, target_offset: int, target: bytes) -> int:
        start = max(0, min(self.source_size, target_offset + self.shift - self.radius))
        end = max(start, min(self.source_size, target_offset + len(target) + self.shift + self.radius))
        region = read_range(self.source, start, end - start)
        votes: Counter[int] = Counter()
        step = max(1, (len(target) - PROBE_SIZE) // PROBES)
        for at in range(0, max(1, len(target) - PROBE_SIZE + 1), step):
            probe = target[at:at + PROBE_SIZE]
            if len(set(probe)) < MIN_DISTINCT_BYTES:
                continue
            found = region.find(probe)
            if found >= 0:
                votes[start + found - (target_offset + at)] += 1
        return votes.most_common(1)[0][0] if votes else self.shift
