"""Where a session gets what it sends: a verified copy of an image from a full package, a
target rebuilt from a delta package and the source build's image, or, for a sideload,
the whole package.

Either way what is handed out has been hashed against the signed manifest.
"""

import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..cache.store import FirmwareCache
from ..delta.apply import check_source, reconstruct
from ..package.archive import PackageReader

ReadSource = Callable[[int], Path]
"""Reads `size` bytes of the handset's running image of the partition into a private file."""
Rebuild = Callable[..., Path]
"""(reader, partition, source image or None, folder) -> the verified target image made there."""


class PreparedImages:
    """A full package's images, extracted and verified once for every handset."""

    def __init__(self, images: dict[str, Path]):
        self.images = images

    def path_for(self, entry, read_source: ReadSource) -> Path:
        return self.images[entry.partition]


class SideloadPackage:
    """A sideload package goes to the handset whole: a private copy of the package file,
    with the SHA-256 that was verified and every image checked (Updater.prepare)."""

    def __init__(self, path: Path):
        self.path = path


class DeltaImages:
    """Targets rebuilt from a delta package (or an incremental vendor OTA, with its own
    `rebuild`), once per (partition, source) for all handsets.

    The source image comes from the firmware cache by hash when it is there; else it is
    read back from the handset and must hash to what the delta was built from
    (DeltaSourceMismatch otherwise, before anything is written). A source read back
    and found right goes into the cache for next time.
    """

    def __init__(self, reader: PackageReader, cache: FirmwareCache | None, rebuild: Rebuild = reconstruct):
        self.reader, self.cache, self._make = reader, cache, rebuild
        self._workdir = Path(tempfile.mkdtemp(prefix="tsuf-delta-"))
        self._built: dict[tuple[str, str], Path] = {}
        self._building: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def path_for(self, entry, read_source: ReadSource) -> Path:
        key = (entry.partition, entry.delta.source_sha256)
        with self._lock:
            if key in self._built:
                return self._built[key]
            building = self._building.setdefault(key, threading.Lock())
        # Handsets wanting the same target wait for the first one instead of each
        # reading back its source and rebuilding; if the first fails (its source did
        # not match), the next one tries with its own.
        with building:
            with self._lock:
                if key in self._built:
                    return self._built[key]
            target = self._rebuild(entry, read_source)
            with self._lock:
                self._built[key] = target
            return target

    def _rebuild(self, entry, read_source: ReadSource) -> Path:
        delta = entry.delta
        source = None
        if delta.needs_source:
            source = self.cache.get(delta.source_sha256) if self.cache else None
            if source is None:
                source = read_source(delta.source_size)
                check_source(entry, source)
                if self.cache:
                    self.cache.add(source)
        return self._make(self.reader, entry.partition, source, self._workdir)

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)
