"""Where a session gets what it sends: a verified copy of an image from a full package, an
image a vendor OTA builds while the first are already sent, a target rebuilt from a delta
package and the source build's image, or, for a sideload, the whole package.

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


class StreamedImages:
    """Images built one after another on a thread while handsets already take the first ones
    (a vendor OTA's, each checked against the payload's hash as it is built): `path_for`
    waits for its image. A build that fails fails every session that waits for it or a
    later one, with the build's own error; images already written stay on the inactive slot,
    which is never switched to."""

    def __init__(self, build: Callable[[str], Path], order: list[str]):
        self._build = build
        self._order = order
        self._paths: dict[str, Path] = {}
        self._ready = {name: threading.Event() for name in order}
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="tsuf-images", daemon=True).start()

    def _run(self) -> None:
        for name in self._order:
            try:
                self._paths[name] = self._build(name)
            except BaseException as error:  # handed to every session that waits
                self._error = error
                for event in self._ready.values():
                    event.set()
                return
            self._ready[name].set()

    def path_for(self, entry, read_source: ReadSource) -> Path:
        self._ready[entry.partition].wait()
        if entry.partition not in self._paths:
            raise self._error
        return self._paths[entry.partition]

    def wait_all(self) -> dict[str, Path]:
        """Every image, once all are built (or the build's error)."""
        for name in self._order:
            self._ready[name].wait()
        if self._error is not None:
            raise self._error
        return dict(self._paths)


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
