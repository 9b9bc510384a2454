"""Windows follow content that insertions moved, and their number stays within the manifest's bound."""

import io
import random

from flasher.delta.windows import DEFAULT_WINDOW, MiB, ShiftTracker, window_size_for
from flasher.package.delta_manifest import MAX_WINDOW_TARGET, MAX_WINDOWS


def test_window_size_grows_only_when_the_window_count_demands_it():
    assert window_size_for(4 << 30) == DEFAULT_WINDOW
    assert window_size_for(100, 4096) == 4096
    grown = window_size_for(64 << 30)
    assert grown % MiB == 0 and -(-(64 << 30) // grown) <= MAX_WINDOWS
    assert window_size_for(1 << 50) == MAX_WINDOW_TARGET


def test_the_source_range_follows_an_insertion():
    rng = random.Random(3)
    window = 64 * 1024
    source = rng.randbytes(8 * window)
    target = source[:window] + rng.randbytes(100_000) + source[window:]
    tracker = ShiftTracker(io.BytesIO(source), len(source), window)
    ranges = [tracker.source_range(offset, target[offset:offset + window]) for offset in range(0, len(target), window)]
    last = ranges[-2]  # wholly after the insertion
    moved_to = last.target_offset - 100_000
    assert last.source_offset <= moved_to and moved_to + window <= last.source_offset + last.source_size
    assert all(0 <= r.source_offset and r.source_offset + r.source_size <= len(source) for r in ranges)


def test_blank_windows_keep_the_last_shift_and_stay_inside_the_source():
    source = bytes(4096) * 4
    tracker = ShiftTracker(io.BytesIO(source), len(source), 4096)
    tracker.shift = 1000
    where = tracker.source_range(3 * 4096, bytes(4096))
    assert tracker.shift == 1000
    assert where.source_offset + where.source_size <= len(source)
    beyond = tracker.source_range(10 * 4096, bytes(4096))  # the target is longer than the source
    assert beyond.source_size == 0 and beyond.source_offset == len(source)
