"""apply_patch(): the BSDIFF40 header and blocks are checked, with bounds, before bsdiff4 sees them."""

import bz2
import os

import bsdiff4
import pytest

from flasher.delta.bsdiff import _mark_runs, apply_patch, decode_int64, make_patch, read_header
from flasher.delta.errors import CorruptPatch, PatchRejected

SOURCE = os.urandom(64 * 1024)
TARGET = SOURCE[:1000] + b"inserted" + SOURCE[1000:40000] + os.urandom(500) + SOURCE[40000:]


def encode(value: int) -> bytes:
    return (abs(value) | (1 << 63 if value < 0 else 0)).to_bytes(8, "little")


def patch_of(control: bytes, diff: bytes, extra: bytes, size: int, *, header=None) -> bytes:
    blocks = [bz2.compress(control), bz2.compress(diff), bz2.compress(extra)]
    lengths = header or (len(blocks[0]), len(blocks[1]), size)
    return b"BSDIFF40" + b"".join(encode(n) for n in lengths) + b"".join(blocks)


def triple(x: int, y: int, z: int) -> bytes:
    return encode(x) + encode(y) + encode(z)


def test_a_patch_made_here_applies_and_matches_bsdiff4():
    patch = make_patch(SOURCE, TARGET)
    assert apply_patch(SOURCE, patch, len(TARGET)) == TARGET == bsdiff4.patch(SOURCE, patch)


def test_sources_with_long_repeated_runs_give_standard_patches():
    runs = [os.urandom(100_000), bytes(600 * 1024), os.urandom(50_000), b"\xde\xad\xbe\xef" * 300_000,
            os.urandom(70_000), bytes(1 << 20), b"\xff" * 9000]
    source = b"".join(runs)
    target = bytearray(source)
    for at in range(0, len(target), 3000):
        target[at:at + 8] = os.urandom(8)
    target[200_000:200_000] = os.urandom(5000)
    target = bytes(target)
    marked, changed = _mark_runs(source)
    assert changed and all(marked[i] == source[i] for i in range(0, 100_000))
    patch = make_patch(source, target)
    assert apply_patch(source, patch, len(target)) == target == bsdiff4.patch(source, patch)


def test_sign_magnitude_integers_decode_as_bsdiff_writes_them():
    assert [decode_int64(encode(n)) for n in (0, 5, -5, 1 << 40, -(1 << 40))] == [0, 5, -5, 1 << 40, -(1 << 40)]
    assert decode_int64(bsdiff4.core.encode_int64(-123456)) == -123456


def test_a_hand_made_patch_copies_and_adds():
    patch = patch_of(triple(4, 3, 0), bytes([1, 0, 0, 0]), b"xyz", 7)
    assert apply_patch(b"abcd", patch, 7) == b"bbcdxyz"


@pytest.mark.parametrize("patch, message", [
    (b"BSDIFF4", "magic"),
    (b"BSDIFF39" + bytes(24), "magic"),
    (b"BSDIFF40" + encode(14) + encode(14) + encode(100 << 30) + bytes(28), "declares 107374182400"),
    (b"BSDIFF40" + encode(-1) + encode(14) + encode(7), "do not fit"),
    (b"BSDIFF40" + encode(14) + encode(-14) + encode(7), "do not fit"),
    (b"BSDIFF40" + encode(1 << 62) + encode(0) + encode(7), "do not fit"),
])
def test_headers_that_disagree_with_the_manifest_are_refused(patch, message):
    with pytest.raises(PatchRejected, match=message):
        read_header(patch, 7)


def test_a_declared_size_is_checked_before_any_allocation(monkeypatch):
    monkeypatch.setattr(bsdiff4.core, "patch", lambda *args: pytest.fail("bsdiff4 must not run"))
    huge = patch_of(triple(4, 3, 0), bytes(4), b"xyz", 1 << 40)
    with pytest.raises(PatchRejected, match="manifest says 7"):
        apply_patch(b"abcd", huge, 7)


@pytest.mark.parametrize("patch, error, message", [
    (patch_of(triple(4, 3, 0), bytes(4), b"xyz", 7)[:-3], CorruptPatch, "truncated"),
    (patch_of(triple(4, 3, 0), bytes(4), b"xyz", 7) + b"junk", CorruptPatch, "followed"),
    (patch_of(triple(4, 3, 0), bytes(4), b"xyz", 7).replace(b"BZh9", b"BZh0", 1), CorruptPatch, "bz2"),
    (patch_of(triple(-4, 7, 0), b"", b"abcdefg", 7), CorruptPatch, "negative"),
    (patch_of(triple(4, -3, 0), bytes(4), b"", 7), CorruptPatch, "negative"),
    (patch_of(triple(4, 3, 0) + b"x", bytes(4), b"xyz", 7), CorruptPatch, "whole triples"),
    (patch_of(triple(4, 4, 0), bytes(4), b"xyzw", 7), CorruptPatch, "past the declared output"),
    (patch_of(triple(4, 2, 0), bytes(4), b"xy", 7), CorruptPatch, "account"),
    (patch_of(triple(4, 3, 0), bytes(8), b"xyz", 7), PatchRejected, "diff block expands"),
    (patch_of(triple(4, 3, 0), bytes(4), bytes(1 << 20), 7), PatchRejected, "extra block expands"),
])
def test_malformed_blocks_are_refused_before_bsdiff4_runs(monkeypatch, patch, error, message):
    monkeypatch.setattr(bsdiff4.core, "patch", lambda *args: pytest.fail("bsdiff4 must not run"))
    with pytest.raises(error, match=message):
        apply_patch(b"abcd", patch, 7)


def test_a_compression_bomb_stops_at_the_output_size():
    bomb = patch_of(triple(0, 7, 0), b"", bytes(64 << 20), 7)
    assert len(bomb) < 4096
    with pytest.raises(PatchRejected, match="expands past 7"):
        apply_patch(b"", bomb, 7)
