"""Building a signed delta package from a source and a target build (folders of images or full packages).

Each target image becomes a copy (unchanged), a patch (BSDIFF40 windows, diffed in
parallel: bsdiff4 releases the GIL, so threads use every core) or whole (new, or
its patch would not be clearly smaller than the image deflated). Only a few windows
are in flight at a time, so memory is bounded by the window size and the worker
count, never by the image size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..package.archive import CHUNK, PackageReader
from ..package.bootmeta import make_boot_metadata
from ..package.build import (BOOT_METADATA_PARTITION, ZIP_TIME, PackageDescription, add_image, folder_images,
                             package_writer, raw_image, sign_into)
from ..package.delta_manifest import DeltaEntry, DeltaWindow, max_patch_size
from ..package.errors import BuildError
from ..package.keys import SigningKey
from ..package.manifest import MAX_IMAGES, SUPER_EMPTY, ImageEntry, Manifest, utc_timestamp
from ..package.trust import TrustStore
from .bsdiff import apply_patch, make_patch
from .windows import DEFAULT_WINDOW, ShiftTracker, read_range, window_size_for

# A patch must beat the deflated image clearly, or the image is carried whole (no source needed).
WHOLE_ABOVE = 0.9
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Measured:
    path: Path
    size: int
    sha256: str
    deflated: int


@dataclass(frozen=True)
class Build:
    """One side of the diff: raw images by partition, and the package manifest they came from, if any."""

    images: dict[str, Path]
    manifest: Manifest | None


@dataclass(frozen=True)
class DeltaBuildResult:
    manifest: Manifest
    package_bytes: int
    full_bytes: int  # the target images deflated: about what a full package carries
    seconds: float
    workers: int

    @property
    def methods(self) -> dict[str, str]:
        return {entry.partition: entry.delta.method for entry in self.manifest.images}


def build_delta_package(source: Path, target: Path, signing_keys: Sequence[SigningKey], output: Path, *,
                        description: PackageDescription | None = None, source_build: str | None = None,
                        trust_store: TrustStore | None = None, oem_key: SigningKey | None = None,
                        workers: int | None = None, window_size: int = DEFAULT_WINDOW,
                        created: datetime | None = None, progress: Progress | None = None) -> DeltaBuildResult:
    """Build and sign a delta package that makes `target`'s images from `source`'s.

    Folders need `description` (for the target) and `source_build`; full packages
    carry both and are verified against `trust_store` first.
    """
    if not signing_keys:
        raise BuildError("no signing key given", "Give at least one --key PRIVATE.pem.")
    started = time.monotonic()
    workers = workers or os.cpu_count() or 1
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix=".tsuf-delta-", dir=output.parent) as staging:
        staging = Path(staging)
        old = _open_build(Path(source), staging / "source", trust_store)
        new = _open_build(Path(target), staging / "target", trust_store)
        description = _target_description(new, description)
        source_build = old.manifest.build if old.manifest else source_build
        if not source_build:
            raise BuildError("the source build is not named", "Give --source-build for a folder of images.")
        targets = {partition: _measure(path) for partition, path in new.images.items()}
        if oem_key:
            targets[BOOT_METADATA_PARTITION] = _measure(
                _boot_metadata(targets, description, oem_key, staging))
        if not 1 <= len(targets) <= MAX_IMAGES:
            raise BuildError(f"a package holds 1 to {MAX_IMAGES} images; {target} has {len(targets)}")
        window_size = window_size_for(sum(m.size for m in targets.values()), window_size)
        differ = _Differ(workers, window_size, staging, progress)
        with package_writer(output) as package:
            # super_empty.img is the layout, not a partition: small, unslotted, always whole (a phone
            # cannot give it back as a source).
            entries = [differ.add(package, partition, targets[partition],
                                  None if partition == SUPER_EMPTY else old.images.get(partition), source_build,
                                  partition not in description.unslotted and partition != SUPER_EMPTY)
                       for partition in sorted(targets)]
            manifest = Manifest(
                package_id=description.package_id or f"{description.product}-{source_build}-{description.build}",
                product=description.product, hw_revisions=description.hw_revisions, build=description.build,
                rollback_index=description.rollback_index, min_battery_mv=description.min_battery_mv,
                created=utc_timestamp(created), images=tuple(entries), type="delta")
            sign_into(package, manifest, signing_keys)
    return DeltaBuildResult(manifest, output.stat().st_size, sum(m.deflated for m in targets.values()),
                            time.monotonic() - started, workers)


def _open_build(path: Path, staging: Path, trust_store: TrustStore | None) -> Build:
    staging.mkdir()
    if path.is_dir():
        return Build({partition: raw_image(image, staging) for partition, image in folder_images(path).items()}, None)
    if trust_store is None:
        raise BuildError(f"{path}: a package input needs a trust store to verify it")
    with PackageReader(path, trust_store) as reader:
        if reader.manifest.type != "full":
            raise BuildError(f"{path} is a {reader.manifest.type} package; deltas are made between full builds")
        copies = reader.extract_all_verified(staging)
        return Build(copies, reader.manifest)


def _target_description(new: Build, description: PackageDescription | None) -> PackageDescription:
    if new.manifest is None:
        if description is None or not description.product:
            raise BuildError("a folder of target images needs a description with a product",
                             "Give --describe FILE.json with product, hw_revisions, build and rollback_index.")
        return description
    manifest = new.manifest
    return PackageDescription(
        hw_revisions=manifest.hw_revisions, build=manifest.build, rollback_index=manifest.rollback_index,
        product=manifest.product, min_battery_mv=manifest.min_battery_mv,
        unslotted=frozenset(entry.partition for entry in manifest.images if not entry.slotted),
        package_id=description.package_id if description else None)


def _measure(path: Path) -> Measured:
    """Size, SHA-256 and deflated size (what a full package would carry) in one read."""
    digest, deflate, size, deflated = hashlib.sha256(), zlib.compressobj(), 0, 0
    with open(path, "rb") as image:
        while chunk := image.read(CHUNK):
            digest.update(chunk)
            deflated += len(deflate.compress(chunk))
            size += len(chunk)
    if size == 0:
        raise BuildError(f"{path}: the image is empty")
    return Measured(path, size, digest.hexdigest(), deflated + len(deflate.flush()))


def _sha256_of(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as image:
        while chunk := image.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _boot_metadata(targets: dict[str, Measured], description: PackageDescription, oem_key: SigningKey,
                   staging: Path) -> Path:
    if BOOT_METADATA_PARTITION in targets:
        raise BuildError(f"the target includes {BOOT_METADATA_PARTITION}.img and --oem-key would make another")
    slot_images = {partition: (m.size, m.sha256) for partition, m in targets.items()
                   if partition not in description.unslotted}
    path = staging / f"{BOOT_METADATA_PARTITION}.img"
    path.write_bytes(make_boot_metadata(slot_images, description.rollback_index, oem_key, description.build))
    return path


class _Differ:
    """Turns one target image into a copy, patch or whole entry of the package being written."""

    def __init__(self, workers: int, window_size: int, staging: Path, progress: Progress | None):
        self.workers = workers
        self.window_size = window_size
        self.staging = staging
        self.progress = progress

    def add(self, package: zipfile.ZipFile, partition: str, target: Measured, source: Path | None,
            source_build: str, slotted: bool) -> ImageEntry:
        whole = DeltaEntry("whole", source_build)
        if source is None:
            return self._whole(package, partition, target, slotted, whole)
        source_size, source_sha256 = _sha256_of(source)
        if (source_size, source_sha256) == (target.size, target.sha256):
            return ImageEntry(partition, slotted, target.size, target.sha256, "stored",
                              DeltaEntry("copy", source_build, source_size, source_sha256))
        patches = self.staging / f"{partition}.bsdiff"
        windows = self._diff(partition, source, source_size, target, patches)
        if windows is None or sum(w.patch_size for w in windows) > WHOLE_ABOVE * target.deflated:
            patches.unlink()
            return self._whole(package, partition, target, slotted, whole)
        delta = DeltaEntry("patch", source_build, source_size, source_sha256, tuple(windows))
        info = zipfile.ZipInfo(f"patches/{partition}.bsdiff", ZIP_TIME)
        info.file_size = delta.patch_size  # lets zipfile pick ZIP64 when it must
        with open(patches, "rb") as data, package.open(info, "w") as entry:
            shutil.copyfileobj(data, entry, CHUNK)
        patches.unlink()
        return ImageEntry(partition, slotted, target.size, target.sha256, "stored", delta)

    def _whole(self, package, partition: str, target: Measured, slotted: bool, delta: DeltaEntry) -> ImageEntry:
        entry = add_image(package, partition, target.path, slotted, "deflate")
        if (entry.size, entry.sha256) != (target.size, target.sha256):
            raise BuildError(f"{target.path} changed while the delta was being built")
        return ImageEntry(partition, slotted, entry.size, entry.sha256, "deflate", delta)

    def _diff(self, partition: str, source_path: Path, source_size: int, target: Measured,
              patches: Path) -> list[DeltaWindow] | None:
        """The windows, their patches written to `patches` in order; None if a window's patch is too large."""
        windows: list[DeltaWindow] = []
        pending: deque[Future] = deque()
        with (open(source_path, "rb") as source, open(target.path, "rb") as image, open(patches, "wb") as out,
              ThreadPoolExecutor(self.workers, thread_name_prefix=f"diff-{partition}") as pool):
            tracker = ShiftTracker(source, source_size, self.window_size)
            if self.progress:
                self.progress(partition, 0, target.size)
            for offset in range(0, target.size, self.window_size):
                data = read_range(image, offset, min(self.window_size, target.size - offset))
                where = tracker.source_range(offset, data)
                pending.append(pool.submit(_diff_window, read_range(source, where.source_offset, where.source_size),
                                           where.source_offset, offset, data))
                # One window waiting per worker keeps memory bounded whatever the image size.
                if len(pending) > self.workers:
                    windows.append(self._collect(pending.popleft(), out, partition, target.size))
            while pending:
                windows.append(self._collect(pending.popleft(), out, partition, target.size))
        if any(w.patch_size > max_patch_size(w.target_size) for w in windows):
            return None
        return windows

    def _collect(self, future: Future, out, partition: str, total: int) -> DeltaWindow:
        window, patch = future.result()
        out.write(patch)
        if self.progress:
            self.progress(partition, window.target_offset + window.target_size, total)
        return window


def _diff_window(source: bytes, source_offset: int, target_offset: int, target: bytes) -> tuple[DeltaWindow, bytes]:
    patch = make_patch(source, target)
    # Applying costs a twentieth of diffing, and proves the patch before it is signed.
    if apply_patch(source, patch, len(target)) != target:
        raise BuildError(f"the patch of the window at {target_offset} does not reproduce the target")
    window = DeltaWindow(source_offset, len(source), hashlib.sha256(source).hexdigest(), target_offset, len(target),
                         hashlib.sha256(target).hexdigest(), len(patch), hashlib.sha256(patch).hexdigest())
    return window, patch
