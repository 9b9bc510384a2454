"""Partition files of the virtual handset: names, sizes, sparseness, bounds, erase."""

import os
import sys

import pytest

from flasher.virtual.profile import GiB, MiB, default_profile
from flasher.virtual.storage import PartitionStorage, StorageError

needs_st_blocks = pytest.mark.skipif(
    sys.platform == "win32", reason="st_blocks (allocated disk) is POSIX only"
)


@pytest.fixture
def profile():
    return default_profile("ZTE0001")


@pytest.fixture
def storage(tmp_path, profile):
    return PartitionStorage(tmp_path / "ZTE0001", profile)


def allocated(path):
    return path.stat().st_blocks * 512


def test_one_file_per_partition_slot_sized_as_the_profile(storage, profile):
    names = sorted(p.name for p in storage.root.iterdir())
    expected = sorted(f"{stem}.img" for stem, _ in profile.storage_files())
    assert names == expected
    assert storage.path("boot_a").name == "boot_a.img"
    assert storage.path("misc").name == "misc.img"
    assert storage.size("userdata") == 32 * GiB
    for stem, size in profile.storage_files():
        assert storage.path(stem).stat().st_size == size
    assert storage.download_path() == storage.root / "download.bin"


@needs_st_blocks
def test_fresh_files_are_sparse(storage):
    # 32 GiB of userdata and ~14 GiB of system slots, nearly nothing on disk.
    assert allocated(storage.path("userdata")) < 1 * MiB
    total = sum(allocated(storage.path(stem)) for stem in storage.stems())
    assert total < 1 * MiB


def test_write_then_read_back_in_pieces(storage):
    with storage.open_for_write("boot_b") as f:
        f.seek(4096)
        f.write(b"ANDROID!" + bytes(range(256)) * 16)
    storage.fsync("boot_b")
    data = b"".join(storage.read("boot_b", 4096, 8 + 4096, piece=1000))
    assert data == b"ANDROID!" + bytes(range(256)) * 16
    pieces = list(storage.read("boot_b", 0, 2500, piece=1000))
    assert [len(p) for p in pieces] == [1000, 1000, 500]
    assert list(storage.read("boot_b", 0, 0)) == []
    # Slot a is a different file and was not touched.
    assert b"".join(storage.read("boot_a", 4096, 8)) == bytes(8)


def test_reading_the_last_bytes_works_but_past_the_end_is_an_error(storage):
    size = storage.size("misc")
    assert b"".join(storage.read("misc", size - 10, 10)) == bytes(10)
    for offset, length in [(size - 10, 11), (size, 1), (-1, 4), (0, -1)]:
        with pytest.raises(StorageError) as info:
            storage.read("misc", offset, length)  # raised at once, not on iteration
        assert "misc" in str(info.value) and info.value.hint
    with pytest.raises(StorageError):
        storage.check_range("misc", size, 1)
    storage.check_range("misc", 0, size)


@needs_st_blocks
def test_erase_reads_back_zeros_and_gives_the_disk_back(storage):
    with storage.open_for_write("userdata") as f:
        f.seek(5 * GiB)
        f.write(b"\xa5" * (4 * MiB))
        storage.fsync_file(f)
    assert allocated(storage.path("userdata")) >= 4 * MiB

    storage.erase("userdata")
    assert storage.path("userdata").stat().st_size == 32 * GiB
    assert b"".join(storage.read("userdata", 5 * GiB, 4 * MiB)) == bytes(4 * MiB)
    assert allocated(storage.path("userdata")) < 1 * MiB


def test_erase_zeros_a_small_partition(storage):
    with storage.open_for_write("vbmeta_a") as f:
        f.write(b"AVB0" * 1024)
    storage.erase("vbmeta_a")
    assert b"".join(storage.read("vbmeta_a", 0, storage.size("vbmeta_a"))) == bytes(64 * 1024)


def test_reopening_keeps_the_data(tmp_path, profile):
    first = PartitionStorage(tmp_path / "h", profile)
    with first.open_for_write("dtbo_a") as f:
        f.write(b"dtbo")
    again = PartitionStorage(tmp_path / "h", profile)
    assert b"".join(again.read("dtbo_a", 0, 4)) == b"dtbo"


def test_a_file_of_the_wrong_size_is_refused(tmp_path, profile):
    root = tmp_path / "h"
    PartitionStorage(root, profile)
    with open(root / "boot_a.img", "r+b") as f:
        f.truncate(1 * MiB)
    with pytest.raises(StorageError) as info:
        PartitionStorage(root, profile)
    assert "boot_a" in str(info.value) and "another profile" in info.value.hint


def test_unknown_stem_and_bad_root_are_errors(tmp_path, storage):
    with pytest.raises(StorageError):
        storage.path("boot")  # a bare name is not a stem: resolve it first
    with pytest.raises(StorageError):
        storage.read("recovery", 0, 1)
    afile = tmp_path / "afile"
    afile.write_bytes(b"")
    with pytest.raises(StorageError):
        PartitionStorage(afile, default_profile("X1"))


def test_no_temp_files_are_left_behind(storage):
    assert not [p for p in os.listdir(storage.root) if not p.endswith(".img")]
