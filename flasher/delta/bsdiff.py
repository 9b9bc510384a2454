"""One window's BSDIFF40 patch: made by bsdiff4, checked and decompressed here with bounds, then applied.

bsdiff4 trusts a patch's header (it allocates the declared output size) and
decompresses its blocks without limit, so applying goes through `apply_patch`,
which checks the header against the manifest's sizes, decompresses each block
with a cap, checks every control triple, and only then calls bsdiff4's core.

Layout (the original bsdiff 4.x format, as Debian's bspatch reads it): "BSDIFF40",
then three 8-byte sign-magnitude little-endian integers (control block length,
diff block length, output size), then the bz2 control, diff and extra blocks. The
control block is triples (x, y, z): add x bytes of diff to the source, copy y
bytes of extra, move the source position by z.
"""

from __future__ import annotations

import bisect
import bz2
from dataclasses import dataclass

import bsdiff4.core

from .errors import CorruptPatch, PatchRejected

MAGIC = b"BSDIFF40"
HEADER_SIZE = 32
TRIPLE_SIZE = 24
# A 4 KiB block that repeats a 64-byte (or shorter) pattern gets a marker at its start:
# enough to make the sort fast, and it barely changes which matches bsdiff finds.
RUN_BLOCK = 4096
RUN_PERIOD = 64


def make_patch(source: bytes, target: bytes) -> bytes:
    """A BSDIFF40 patch; bsdiff4 releases the GIL, so threads diff windows in parallel.

    bsdiff4's suffix sort takes minutes, and overflows the stack, on sources with
    several long repeated runs, as zero-padded firmware has. So bsdiff4 diffs a copy
    of the source with markers written into those runs, and the diff block is then
    corrected back to the real source: the patch applies to the real source as usual.
    """
    marked, changed = _mark_runs(source)
    control, diff, extra = bsdiff4.core.diff(marked, target)
    if changed:
        diff = _unmark(control, diff, source, marked, changed)
    blocks = [bz2.compress(control), bz2.compress(diff), bz2.compress(extra)]
    header = MAGIC + encode_int64(len(blocks[0])) + encode_int64(len(blocks[1])) + encode_int64(len(target))
    return header + b"".join(blocks)


def encode_int64(value: int) -> bytes:
    return (abs(value) | (1 << 63 if value < 0 else 0)).to_bytes(8, "little")


def decode_int64(data: bytes) -> int:
    value = int.from_bytes(data, "little")
    return -(value & ~(1 << 63)) if value & (1 << 63) else value


def _mark_runs(source: bytes) -> tuple[bytes, list[int]]:
    """The source with a distinct 4-byte marker at the start of each repetitive block; the changed offsets."""
    marked, changed = None, []
    for start in range(0, len(source) - RUN_BLOCK + 1, RUN_BLOCK):
        block = source[start:start + RUN_BLOCK]
        if block != block[:RUN_PERIOD] * (RUN_BLOCK // RUN_PERIOD):
            continue
        if marked is None:
            marked = bytearray(source)
        marked[start:start + 4] = (start // RUN_BLOCK | 1 << 31).to_bytes(4, "big")
        changed.extend(range(start, start + 4))
    return (bytes(marked), changed) if marked else (source, [])


def _unmark(control: bytes, diff: bytes, source: bytes, marked: bytes, changed: list[int]) -> bytes:
    """The diff block as if made against `source`: diff bytes are target minus source, modulo 256."""
    fixed = bytearray(diff)
    old = done = 0
    for at in range(0, len(control), TRIPLE_SIZE):
        x, z = decode_int64(control[at:at + 8]), decode_int64(control[at + 16:at + 24])
        for offset in changed[bisect.bisect_left(changed, old):bisect.bisect_left(changed, old + x)]:
            index = done + offset - old
            fixed[index] = (fixed[index] + marked[offset] - source[offset]) & 0xFF
        done += x
        old += x + z
    return bytes(fixed)


def read_header(patch: bytes, target_size: int) -> tuple[int, int]:
    """(control length, diff length) of a patch that declares exactly `target_size` output bytes."""
    if len(patch) < HEADER_SIZE or patch[:8] != MAGIC:
        raise PatchRejected("not a BSDIFF40 patch (bad magic or shorter than its header)")
    control_length, diff_length, output_size = (decode_int64(patch[at:at + 8]) for at in (8, 16, 24))
    if output_size != target_size:
        raise PatchRejected(f"the patch declares {output_size} output bytes; the manifest says {target_size}")
    if control_length < 0 or diff_length < 0 or HEADER_SIZE + control_length + diff_length > len(patch):
        raise PatchRejected(f"the patch declares blocks of {control_length} and {diff_length} bytes "
                            f"that do not fit in its {len(patch)} bytes")
    return control_length, diff_length


@dataclass(frozen=True)
class DecodedPatch:
    """A checked patch's blocks, decompressed: all bsdiff4 needs to apply it."""

    target_size: int
    control: bytes
    diff: bytes
    extra: bytes


def apply_patch(source: bytes, patch: bytes, target_size: int) -> bytes:
    """The target bytes; PatchRejected or CorruptPatch before bsdiff4 sees a malformed patch."""
    return apply_decoded(source, decode_patch(patch, target_size))


def decode_patch(patch: bytes, target_size: int) -> DecodedPatch:
    """The header checked, the blocks decompressed with caps, every control triple checked.

    Most of the cost of applying; bz2 releases the GIL, so threads decode windows in parallel.
    """
    control_length, diff_length = read_header(patch, target_size)
    diff_at = HEADER_SIZE + control_length
    # A valid control block has far fewer triples than output bytes; diff and extra are at most the output.
    control = _decompress(patch[HEADER_SIZE:diff_at], 3 * target_size + TRIPLE_SIZE, "control")
    diff = _decompress(patch[diff_at:diff_at + diff_length], target_size, "diff")
    extra = _decompress(patch[diff_at + diff_length:], target_size, "extra")
    check_control(control, target_size, len(diff), len(extra))
    return DecodedPatch(target_size, control, diff, extra)


def apply_decoded(source: bytes, decoded: DecodedPatch) -> bytes:
    try:
        return bsdiff4.core.patch(source, decoded.target_size, decoded.control, decoded.diff, decoded.extra)
    except (ValueError, MemoryError) as error:
        raise CorruptPatch(f"the patch does not apply ({error})") from None


def _decompress(block: bytes, limit: int, name: str) -> bytes:
    decompressor = bz2.BZ2Decompressor()
    try:
        data = decompressor.decompress(block, max_length=limit + 1)
    except (OSError, ValueError) as error:
        raise CorruptPatch(f"the patch's {name} block is not valid bz2 ({error})") from None
    if len(data) > limit:
        raise PatchRejected(f"the patch's {name} block expands past {limit} bytes")
    if not decompressor.eof or decompressor.unused_data:
        raise CorruptPatch(f"the patch's {name} block is truncated or followed by other bytes")
    return data


def check_control(control: bytes, target_size: int, diff_size: int, extra_size: int) -> None:
    """Every triple's lengths are non-negative and together they use exactly the output and both blocks."""
    if len(control) % TRIPLE_SIZE:
        raise CorruptPatch("the patch's control block is not made of whole triples")
    written, diff_used, extra_used = 0, 0, 0
    for at in range(0, len(control), TRIPLE_SIZE):
        x, y = decode_int64(control[at:at + 8]), decode_int64(control[at + 8:at + 16])
        if x < 0 or y < 0:
            raise CorruptPatch("the patch's control block has a negative length")
        written, diff_used, extra_used = written + x + y, diff_used + x, extra_used + y
        if written > target_size:
            raise CorruptPatch("the patch's control block writes past the declared output")
    if (written, diff_used, extra_used) != (target_size, diff_size, extra_size):
        raise CorruptPatch("the patch's control block does not account for its output and blocks exactly")
