"""reconstruct(): byte-identical targets for every method, and refusals that leave nothing behind."""

import hashlib
import shutil
import stat

import bsdiff4
import pytest

import flasher.delta.bsdiff
from flasher.delta import apply
from flasher.delta.apply import reconstruct, reconstruct_all
from flasher.delta.errors import CorruptPatch, DeltaError, DeltaSourceMismatch, PatchRejected
from flasher.package.archive import PackageReader
from flasher.package.errors import ManifestError, NotAWholeImage

from .conftest import METHODS, rewrite_package, window_patch


@pytest.fixture
def dest(tmp_path):
    folder = tmp_path / "private"
    folder.mkdir()
    return folder


@pytest.fixture
def reader(delta_build):
    with PackageReader(delta_build.package, delta_build.store) as reader:
        yield reader


@pytest.mark.parametrize("partition", sorted(METHODS))
def test_reconstructed_image_is_byte_identical_to_the_target(delta_build, reader, dest, partition):
    assert reader.manifest.image(partition).delta.method == METHODS[partition]
    done = []
    path = reconstruct(reader, partition, delta_build.source_image(partition), dest, progress=done.append)
    assert path.read_bytes() == delta_build.target_bytes(partition)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert done[-1] == len(delta_build.target_bytes(partition))


def test_the_package_names_its_source_build_and_images(reader, delta_build):
    assert reader.manifest.type == "delta"
    assert reader.manifest.source_build == "B130"
    delta = reader.manifest.image("system").delta
    source = delta_build.source_image("system").read_bytes()
    assert (delta.source_size, delta.source_sha256) == (len(source), hashlib.sha256(source).hexdigest())
    assert len(delta.windows) > 4
    assert not reader.manifest.image("vendor").delta.needs_source


@pytest.mark.parametrize("partition", ["system", "boot"])
def test_one_changed_source_block_is_refused_before_anything_is_written(delta_build, reader, dest, tmp_path,
                                                                         partition):
    changed = bytearray(delta_build.source_image(partition).read_bytes())
    changed[len(changed) // 2] ^= 0xFF
    source = tmp_path / "changed.img"
    source.write_bytes(changed)
    with pytest.raises(DeltaSourceMismatch, match="B130"):
        reconstruct(reader, partition, source, dest)
    assert list(dest.iterdir()) == []


def test_a_source_that_changes_after_its_check_fails_at_the_window(delta_build, reader, dest, tmp_path,
                                                                   monkeypatch):
    changed = bytearray(delta_build.source_image("system").read_bytes())
    changed[-100] ^= 0xFF
    source = tmp_path / "changed.img"
    source.write_bytes(changed)
    monkeypatch.setattr(apply, "check_source", lambda entry, path: None)
    with pytest.raises(DeltaSourceMismatch, match="window"):
        reconstruct(reader, "system", source, dest)
    assert list(dest.iterdir()) == []


def test_a_missing_or_short_source_is_a_mismatch(delta_build, reader, dest, tmp_path):
    with pytest.raises(DeltaSourceMismatch):
        reconstruct(reader, "system", None, dest)
    short = tmp_path / "short.img"
    short.write_bytes(delta_build.source_image("system").read_bytes()[:-1])
    with pytest.raises(DeltaSourceMismatch):
        reconstruct(reader, "system", short, dest)
    with pytest.raises(DeltaSourceMismatch, match="cannot read"):
        reconstruct(reader, "system", tmp_path / "absent.img", dest)
    assert list(dest.iterdir()) == []


def test_a_partition_read_back_whole_is_a_good_source(delta_build, reader, dest, tmp_path):
    partition = tmp_path / "system_a.bin"
    partition.write_bytes(delta_build.source_image("system").read_bytes() + b"old bytes past the image" * 100)
    made = reconstruct(reader, "system", partition, dest)
    assert made.read_bytes() == delta_build.target_bytes("system")


def test_reconstruct_all_makes_every_image_or_none(delta_build, reader, dest):
    asked = []

    def source_for(entry):
        asked.append(entry.partition)
        return delta_build.source_image(entry.partition)
    made = reconstruct_all(reader, source_for, dest)
    assert {p: path.read_bytes() for p, path in made.items()} == {p: delta_build.target_bytes(p) for p in METHODS}
    assert sorted(asked) == ["boot", "system"]  # vendor and radio are carried whole: no source needed
    for path in made.values():
        shutil.rmtree(path.parent)

    def no_system(entry):
        return None if entry.partition == "system" else delta_build.source_image(entry.partition)
    with pytest.raises(DeltaSourceMismatch):
        reconstruct_all(reader, no_system, dest)
    assert list(dest.iterdir()) == []


def test_patched_images_are_not_extracted_as_images(reader, dest):
    with pytest.raises(NotAWholeImage):
        reader.extract_verified("system", dest)
    with pytest.raises(NotAWholeImage):
        reader.extract_all_verified(dest)
    assert list(dest.iterdir()) == []


def test_a_full_package_is_not_reconstructed(delta_build, dest, tmp_path):
    from flasher.package.build import build_package

    from .conftest import TARGET
    full = tmp_path / "full.zip"
    build_package(delta_build.target, TARGET, [delta_build.key], full)
    with PackageReader(full, delta_build.store) as reader, pytest.raises(DeltaError, match="full image"):
        reconstruct(reader, "system", delta_build.source_image("system"), dest)


def source_bytes_read(window) -> set[int]:
    """Offsets of the source bytes a window reads: its copies and its reference."""
    ranges = [(op.source_offset, op.length) for op in window.ops if op.kind == "copy"] + list(window.reference)
    return {at for offset, length in ranges for at in range(offset, offset + length)}


def _with_window_patch(delta_build, tmp_path, patch: bytes, index: int = 1):
    """The delta package with one window's patch replaced, its manifest describing (and signing) the new bytes."""
    def change(manifest, entries):
        image = next(entry for entry in manifest["images"] if entry["partition"] == "system")
        windows = image["delta"]["windows"]
        old = [window_patch(delta_build.package, "system", i) for i in range(len(windows))]
        old[index] = patch
        windows[index].update(patch_size=len(patch), patch_sha256=hashlib.sha256(patch).hexdigest())
        entries["patches/system.bsdiff"] = b"".join(old)
    return rewrite_package(delta_build.package, tmp_path / "hostile.zip", delta_build.key, change)


def _header(control: int, diff: int, size: int) -> bytes:
    def encode(value):
        return (abs(value) | (1 << 63 if value < 0 else 0)).to_bytes(8, "little")
    return b"BSDIFF40" + encode(control) + encode(diff) + encode(size)


def _hostile_patches(delta_build):
    good = window_patch(delta_build.package, "system", 1)
    body = good[32:]
    control, diff = (flasher.delta.bsdiff.decode_int64(good[at:at + 8]) for at in (8, 16))
    size = flasher.delta.bsdiff.decode_int64(good[24:32])
    corrupt = bytearray(good)
    corrupt[32 + control + 10] ^= 0xFF  # inside the diff block's bz2 data
    return {
        "declares more output": (_header(control, diff, size + 1) + body, PatchRejected),
        "declares 100 GB": (_header(control, diff, 100 << 30) + body, PatchRejected),
        "negative control length": (_header(-control, diff, size) + body, PatchRejected),
        "negative diff length": (_header(control, -diff, size) + body, PatchRejected),
        "blocks past its end": (_header(control, diff + len(good), size) + body, PatchRejected),
        "corrupt bz2": (bytes(corrupt), CorruptPatch),
        "other bytes": (bsdiff4.diff(b"any source", bytes(size)), PatchRejected),
    }


@pytest.mark.parametrize("case", ["declares more output", "declares 100 GB", "negative control length",
                                  "negative diff length", "blocks past its end", "corrupt bz2", "other bytes"])
def test_hostile_window_patches_are_refused_and_nothing_is_left(delta_build, dest, tmp_path, monkeypatch, case):
    patch, error = _hostile_patches(delta_build)[case]
    hostile = _with_window_patch(delta_build, tmp_path, patch)
    core_patch, applied = flasher.delta.bsdiff.bsdiff4.core.patch, []

    def counting_patch(*args):
        applied.append(args[1])
        return core_patch(*args)
    monkeypatch.setattr(flasher.delta.bsdiff.bsdiff4.core, "patch", counting_patch)
    with PackageReader(hostile, delta_build.store) as reader, pytest.raises(error):
        reconstruct(reader, "system", delta_build.source_image("system"), dest)
    assert list(dest.iterdir()) == []
    # Window 0 is intact; bsdiff4 never sees the hostile window 1 unless it is a well-formed patch.
    assert len(applied) == (2 if case == "other bytes" else 1)


def test_a_patch_entry_that_differs_from_its_manifest_is_refused(delta_build, dest, tmp_path):
    def change(manifest, entries):
        data = bytearray(entries["patches/system.bsdiff"])
        data[40] ^= 1
        entries["patches/system.bsdiff"] = bytes(data)
    changed = rewrite_package(delta_build.package, tmp_path / "changed.zip", delta_build.key, change)
    with PackageReader(changed, delta_build.store) as reader, pytest.raises(PatchRejected, match="SHA-256"):
        reconstruct(reader, "system", delta_build.source_image("system"), dest)
    assert list(dest.iterdir()) == []


def test_a_window_outside_the_source_image_is_refused_when_the_package_opens(delta_build, tmp_path):
    def change(manifest, entries):
        image = next(entry for entry in manifest["images"] if entry["partition"] == "system")
        copy = next(op for op in image["delta"]["windows"][0]["ops"] if op[0] == "copy")
        copy[1] = image["delta"]["source_size"]
    hostile = rewrite_package(delta_build.package, tmp_path / "outside.zip", delta_build.key, change)
    with pytest.raises(ManifestError, match="past the end"):
        PackageReader(hostile, delta_build.store)


def test_progress_reports_each_window_once_in_order(delta_build, reader, dest):
    done = []
    reconstruct(reader, "system", delta_build.source_image("system"), dest, progress=done.append)
    windows = reader.manifest.image("system").delta.windows
    assert done == [window.target_offset + window.target_size for window in windows]


def test_windows_prepared_ahead_still_fail_in_window_order(delta_build, dest, tmp_path, monkeypatch):
    # Window 1's patch is hostile and window 2's source changed after the whole-source check:
    # window 2 is prepared while window 1 waits, yet the error is window 1's, as without lookahead.
    patch, error = _hostile_patches(delta_build)["corrupt bz2"]
    hostile = _with_window_patch(delta_build, tmp_path, patch, index=1)
    with PackageReader(hostile, delta_build.store) as reader:
        windows = reader.manifest.image("system").delta.windows
        changed = bytearray(delta_build.source_image("system").read_bytes())
        at = min(source_bytes_read(windows[2]) - source_bytes_read(windows[1]))
        changed[at] ^= 0xFF
        source = tmp_path / "changed.img"
        source.write_bytes(changed)
        monkeypatch.setattr(apply, "check_source", lambda entry, path: None)
        with pytest.raises(error, match="window 1"):
            reconstruct(reader, "system", source, dest)
    assert list(dest.iterdir()) == []
