"""A content-addressed store of firmware files with a size limit, evicting the least recently used.

Layout under the cache folder (0700): `objects/<sha256>` (0600 files), and `tmp/`
for inserts in progress. An insert is copied into tmp/ while it is hashed, fsynced,
then renamed into objects/, so an entry is always complete. Last use is the
entry's modification time, set on every add and get. Every get re-hashes the entry;
one that no longer matches its name is evicted, never returned.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic import private_folder
from ..errors import FlasherError
from ..settings import load_settings

GiB = 1 << 30
DEFAULT_MAX_SIZE = 16 * GiB
CHUNK = 1 << 20
# Inserts that crashed leave files in tmp/; a day is longer than any insert takes.
STALE_TEMP_SECONDS = 24 * 3600
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


class CacheError(FlasherError):
    hint = "Check the cache folder (tsuf cache list shows where) and the free disk space."


class CacheLimitExceeded(CacheError):
    """A file larger than the whole cache may hold."""

    hint = "Raise the cache's size limit, or keep the file elsewhere."


@dataclass(frozen=True)
class CacheEntry:
    sha256: str
    size: int
    last_used_ns: int  # nanoseconds since the epoch
    path: Path


class FirmwareCache:
    """Thread-safe within a process; across processes every entry is complete, and eviction is by unlink."""

    def __init__(self, root: Path, max_size: int = DEFAULT_MAX_SIZE):
        self.root = Path(root)
        self.max_size = max_size
        self._objects = self.root / "objects"
        self._temp = self.root / "tmp"
        self._lock = threading.Lock()
        self._last_stamp = 0

    def add(self, path: Path) -> str:
        """Copy `path` in (hashed while copied); returns its SHA-256. Older entries are evicted to fit."""
        size = Path(path).stat().st_size
        if size > self.max_size:
            raise CacheLimitExceeded(f"{path} is {size} bytes; the cache holds at most {self.max_size}")
        if not size:
            raise CacheError(f"{path} is empty (or a kernel file such as /proc's): not an image or a package")
        self._make_folders()
        fd, temporary = tempfile.mkstemp(dir=self._temp)
        try:
            digest = hashlib.sha256()
            copied = 0
            with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                while copied <= size and (chunk := source.read(min(CHUNK, size + 1 - copied))):
                    digest.update(chunk)
                    out.write(chunk)
                    copied += len(chunk)
                if copied != size:
                    raise CacheError(f"{path} changed while it was copied ({size} bytes, then {copied}"
                                     f"{' or more' if copied > size else ''}); copy it again once it is complete")
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            with self._lock:
                os.replace(temporary, self._objects / sha256)
                self._touch(self._objects / sha256)
                self._evict(self.max_size, keep=sha256)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> Path | None:
        """The entry's path if present and intact (it becomes the most recently used); a corrupt one is evicted."""
        if not _SHA256.match(sha256):
            raise CacheError(f"{sha256!r} is not a SHA-256 (64 lower-case hex digits)")
        path = self._objects / sha256
        try:
            intact = _sha256_of(path) == sha256
        except FileNotFoundError:
            return None
        with self._lock:
            if not intact:
                path.unlink(missing_ok=True)
                return None
            try:
                self._touch(path)
            except FileNotFoundError:  # evicted by another process meanwhile
                return None
        return path

    def entries(self) -> list[CacheEntry]:
        """Every entry, most recently used first."""
        found = []
        if self._objects.is_dir():
            for path in self._objects.iterdir():
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                if _SHA256.match(path.name):
                    found.append(CacheEntry(path.name, stat.st_size, stat.st_mtime_ns, path))
        return sorted(found, key=lambda entry: entry.last_used_ns, reverse=True)

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.entries())

    def prune(self, max_size: int | None = None) -> list[CacheEntry]:
        """Evict least recently used entries until the cache fits `max_size` (default: its limit); returns them."""
        with self._lock:
            self._remove_stale_temps()
            return self._evict(self.max_size if max_size is None else max_size, keep=None)

    def _evict(self, max_size: int, keep: str | None) -> list[CacheEntry]:
        entries = self.entries()
        total = sum(entry.size for entry in entries)
        evicted = []
        for entry in reversed(entries):
            if total <= max_size:
                break
            if entry.sha256 != keep:
                entry.path.unlink(missing_ok=True)
                total -= entry.size
                evicted.append(entry)
        return evicted

    def _touch(self, path: Path) -> None:
        # Strictly increasing stamps keep the order of uses even within one clock tick.
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        os.utime(path, ns=(self._last_stamp, self._last_stamp))

    def _make_folders(self) -> None:
        for folder in (self.root, self._objects, self._temp):
            private_folder(folder)

    def _remove_stale_temps(self) -> None:
        if not self._temp.is_dir():
            return
        for path in self._temp.iterdir():
            try:
                if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
                    path.unlink()
            except FileNotFoundError:
                pass


def default_cache(max_size: int = DEFAULT_MAX_SIZE) -> FirmwareCache:
    """The station's cache: `cache` in TSUF's data folder (under $TSUF_HOME/data if set)."""
    return FirmwareCache(load_settings().data_dir / "cache", max_size)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
