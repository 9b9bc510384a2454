"""Block operations: what is in the source anywhere is copied, constant blocks are filled, only the rest is diffed."""

import hashlib
import random

import pytest

from flasher.delta import apply
from flasher.delta.apply import reconstruct
from flasher.delta.blocks import BLOCK, Planner, SourceIndex
from flasher.delta.bsdiff import make_patch
from flasher.delta.build import build_delta_package
from flasher.delta.errors import DeltaSourceMismatch
from flasher.delta.windows import ShiftTracker
from flasher.package.archive import PackageReader

from .conftest import KiB, TARGET, WINDOW, firmware_like, rewrite_package

SMALL_WINDOW = 64 * KiB


@pytest.fixture
def delta_of(delta_build, tmp_path):
    """Build a delta of one system image, check that it applies, and give its windows."""
    def build(source: bytes, target: bytes):
        for side, data in (("old", source), ("new", target)):
            (tmp_path / side).mkdir()
            (tmp_path / side / "system.img").write_bytes(data)
        package = tmp_path / "delta.zip"
        build_delta_package(tmp_path / "old", tmp_path / "new", [delta_build.key], package, description=TARGET,
                            source_build="B130", workers=2, window_size=SMALL_WINDOW)
        with PackageReader(package, delta_build.store) as reader:
            made = reconstruct(reader, "system", tmp_path / "old" / "system.img", tmp_path)
            assert made.read_bytes() == target
            return reader.manifest.image("system").delta.windows
    return build


def test_unchanged_and_constant_blocks_carry_no_patch(delta_of):
    source = firmware_like(512 * KiB, random.Random(1))
    target = bytearray(source)
    target[200 * KiB + 17] ^= 0xFF
    windows = delta_of(source, bytes(target))
    diffed = [w for w in windows if w.diff_size]
    assert [(w.target_offset, w.diff_size) for w in diffed] == [(192 * KiB, BLOCK)]
    assert all(w.patch_size == 0 and not w.reference for w in windows if w not in diffed)
    assert {op.kind for w in windows for op in w.ops} == {"copy", "fill", "diff"}


def test_blocks_moved_anywhere_are_copied_from_where_they_are(delta_of):
    rng = random.Random(2)
    source = rng.randbytes(512 * KiB)
    quarter = len(source) // 4
    target = source[3 * quarter:] + source[quarter:3 * quarter] + source[:quarter]
    windows = delta_of(source, target)
    assert all(w.patch_size == 0 for w in windows)
    copies = [(w.target_offset, op.source_offset, op.length) for w in windows for op in w.ops]
    assert copies[0] == (0, 3 * quarter, SMALL_WINDOW)
    assert copies[-1] == (len(target) - SMALL_WINDOW, quarter - SMALL_WINDOW, SMALL_WINDOW)


def test_a_changed_block_is_diffed_against_its_old_version_even_after_blocks_moved(delta_of):
    rng = random.Random(3)
    source = rng.randbytes(512 * KiB)
    target = bytearray(source[:100 * KiB] + rng.randbytes(12 * KiB) + source[100 * KiB:])  # 3 new blocks
    target[300 * KiB + 5:300 * KiB + 13] = b"changed!"
    windows = delta_of(source, bytes(target))
    changed = next(w for w in windows if w.target_offset <= 300 * KiB < w.target_offset + w.target_size)
    assert changed.diff_size == BLOCK
    assert changed.patch_size < 1024  # the block's old version was found: not 4 KiB of new data


def test_a_window_with_too_many_runs_diffs_more_and_stays_within_its_budget(tmp_path):
    rng = random.Random(4)
    source = rng.randbytes(256 * KiB)
    target = bytearray(source)
    for block in range(0, len(target) // BLOCK, 2):
        target[block * BLOCK] ^= 1  # every other block changed: 64 runs
    (tmp_path / "source.img").write_bytes(source)
    with open(tmp_path / "source.img", "rb") as file:
        planner = Planner(SourceIndex(file, len(source)), ShiftTracker(file, len(source), len(target)), len(target))
        plan = planner.plan(0, bytes(target), max_ops=8)
    assert len(plan.ops) <= 8
    assert sum(op.length for op in plan.ops) == len(target)
    at, residue = 0, []
    for op in plan.ops:
        if op.kind == "copy":
            assert target[at:at + op.length] == source[op.source_offset:op.source_offset + op.length]
        else:
            residue.append(target[at:at + op.length])
        at += op.length
    assert plan.residue == b"".join(residue)


def test_a_version_1_package_still_applies(delta_build, tmp_path):
    source, target = delta_build.source_image("system").read_bytes(), delta_build.target_bytes("system")

    def as_version_1(manifest, entries):
        windows, patches = [], []
        for offset in range(0, len(target), WINDOW):
            new = target[offset:offset + WINDOW]
            start, end = max(0, offset - WINDOW // 8), min(len(source), offset + len(new) + WINDOW // 8)
            patch = make_patch(source[start:end], new)
            patches.append(patch)
            windows.append({"source_offset": start, "source_size": end - start,
                            "source_sha256": hashlib.sha256(source[start:end]).hexdigest(),
                            "target_offset": offset, "target_size": len(new),
                            "target_sha256": hashlib.sha256(new).hexdigest(), "patch_size": len(patch),
                            "patch_sha256": hashlib.sha256(patch).hexdigest()})
        delta = next(image for image in manifest["images"] if image["partition"] == "system")["delta"]
        del delta["version"]
        delta["windows"] = windows
        entries["patches/system.bsdiff"] = b"".join(patches)
    old = rewrite_package(delta_build.package, tmp_path / "v1.zip", delta_build.key, as_version_1)
    with PackageReader(old, delta_build.store) as reader:
        assert reader.manifest.image("system").delta.version == 1
        reader.verify_all()
        made = reconstruct(reader, "system", delta_build.source_image("system"), tmp_path)
    assert made.read_bytes() == target



def test_a_copied_source_block_that_changes_after_its_check_is_named_a_source_mismatch(delta_of, delta_build,
                                                                                       tmp_path, monkeypatch):
    source = random.Random(5).randbytes(256 * KiB)
    windows = delta_of(source, source[128 * KiB:] + source[:128 * KiB])
    assert all(op.kind == "copy" for w in windows for op in w.ops)
    changed = bytearray(source)
    changed[10] ^= 0xFF
    (tmp_path / "changed.img").write_bytes(changed)
    monkeypatch.setattr(apply, "check_source", lambda entry, path: None)
    out = tmp_path / "out"
    out.mkdir()
    with PackageReader(tmp_path / "delta.zip", delta_build.store) as reader, \
            pytest.raises(DeltaSourceMismatch, match="window 2"):
        reconstruct(reader, "system", tmp_path / "changed.img", out)
    assert list(out.iterdir()) == []


def test_an_image_that_ends_in_free_space_is_made_whole(delta_of):
    source = random.Random(6).randbytes(128 * KiB) + bytes(192 * KiB)
    target = b"new!" + source[4:]
    windows = delta_of(source, target)  # checks the bytes, and so the length
    assert all(op.kind == "fill" for w in windows[-2:] for op in w.ops)
