"""The firmware cache: content addressed, bounded in size, least recently used evicted, corruption never served."""

import hashlib
import os
import stat

import pytest

from flasher.cache.store import CacheError, CacheLimitExceeded, FirmwareCache, default_cache

KiB = 1 << 10


@pytest.fixture
def cache(tmp_path):
    return FirmwareCache(tmp_path / "cache", max_size=100 * KiB)


def image(tmp_path, name: str, size: int = 30 * KiB) -> tuple:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_added_file_is_found_by_its_sha256(cache, tmp_path):
    path, sha256 = image(tmp_path, "boot.img")
    assert cache.add(path) == sha256
    found = cache.get(sha256)
    assert found.read_bytes() == path.read_bytes()
    assert stat.S_IMODE(found.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.root.stat().st_mode) == 0o700
    assert cache.get("0" * 64) is None


def test_the_same_content_is_kept_once(cache, tmp_path):
    path, sha256 = image(tmp_path, "boot.img")
    copy = tmp_path / "copy.img"
    copy.write_bytes(path.read_bytes())
    assert cache.add(path) == cache.add(copy) == sha256
    assert [entry.sha256 for entry in cache.entries()] == [sha256]


def test_the_least_recently_used_entry_is_evicted_first(cache, tmp_path):
    (a, sha_a), (b, sha_b), (c, sha_c), (d, sha_d) = (image(tmp_path, f"{n}.img") for n in "abcd")
    for path in (a, b, c):
        cache.add(path)
    assert cache.get(sha_a)  # a is now the most recently used
    cache.add(d)  # 4 x 30 KiB > 100 KiB: one must go
    assert cache.get(sha_b) is None
    assert {entry.sha256 for entry in cache.entries()} == {sha_a, sha_c, sha_d}
    assert cache.total_size <= cache.max_size


def test_prune_fits_a_smaller_size_and_reports_what_it_evicted(cache, tmp_path):
    shas = [cache.add(image(tmp_path, f"{n}.img")[0]) for n in "abc"]
    evicted = cache.prune(40 * KiB)
    assert [entry.sha256 for entry in evicted] == shas[:2]
    assert [entry.sha256 for entry in cache.entries()] == shas[2:]
    assert cache.prune() == []


def test_a_corrupt_entry_is_evicted_not_returned(cache, tmp_path):
    path, sha256 = image(tmp_path, "boot.img")
    stored = cache.root / "objects" / sha256
    cache.add(path)
    data = bytearray(stored.read_bytes())
    data[100] ^= 1
    stored.write_bytes(bytes(data))
    assert cache.get(sha256) is None
    assert not stored.exists()


def test_a_file_larger_than_the_cache_is_refused(cache, tmp_path):
    with pytest.raises(CacheLimitExceeded):
        cache.add(image(tmp_path, "big.img", 101 * KiB)[0])
    assert cache.entries() == []


def test_an_empty_file_or_a_kernel_file_is_refused(cache, tmp_path):
    """/proc files say they are empty and then read on: neither is an image or a package."""
    (tmp_path / "empty.img").write_bytes(b"")
    for path in (tmp_path / "empty.img", "/proc/version"):
        with pytest.raises(CacheError, match="empty"):
            cache.add(path)
    assert cache.entries() == [] and not any((cache.root / "tmp").glob("*"))


def test_a_file_whose_content_differs_from_its_size_is_refused(cache):
    """What was read must be what was measured: /sys files claim 4096 bytes and hold a few."""
    with pytest.raises(CacheError, match="changed while it was copied"):
        cache.add("/sys/kernel/uevent_seqnum")
    assert cache.entries() == [] and not any((cache.root / "tmp").glob("*"))


def test_a_failed_insert_leaves_nothing_behind(cache, tmp_path, monkeypatch):
    path, sha256 = image(tmp_path, "boot.img")

    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        cache.add(path)
    assert list((cache.root / "tmp").iterdir()) == []
    assert cache.entries() == []


def test_stale_temporary_files_are_removed_by_prune(cache, tmp_path):
    cache.add(image(tmp_path, "boot.img")[0])
    stale, fresh = cache.root / "tmp" / "stale", cache.root / "tmp" / "fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (0, 0))
    cache.prune()
    assert not stale.exists() and fresh.exists()


def test_names_that_are_not_sha256_are_refused(cache):
    with pytest.raises(CacheError):
        cache.get("../../etc/passwd")


def test_the_default_cache_lives_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    assert default_cache().root == tmp_path / "home" / "data" / "cache"
