"""Building a signed delta package from a source and a target build (folders of images or full packages).

Each target image becomes a copy (unchanged), a patch (windows of block operations:
blocks found in the source by content are copied, constant blocks filled, and only
the rest is diffed, by BSDIFF40 in worker processes, one per core) or whole (new, or
its patch would not be clearly smaller than the image deflated). Only a few windows
are in flight at a time, so memory is bounded by the window size and the worker
count; the source's block index adds about 130 bytes per 4 KiB source block that
is not constant (130 MiB for 4 GiB of content).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import tempfile
import time
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..package.archive import CHUNK, PackageReader
from ..package.bootmeta import make_boot_metadata
from ..package.build import (BOOT_METADATA_PARTITION, ZIP_TIME, PackageDescription, add_image, folder_images,
                             package_writer, raw_image, sign_into)
from ..package.delta_manifest import BLOCK_VERSION, BlockWindow, DeltaEntry, max_patch_size
from ..package.errors import BuildError
from ..package.keys import SigningKey
from ..package.manifest import MAX_IMAGES, SUPER_EMPTY, ImageEntry, Manifest, utc_timestamp
from ..package.trust import TrustStore
from .blocks import Planner, SourceIndex, WindowPlan
from .bsdiff import apply_patch, make_patch
from .windows import DEFAULT_WINDOW, ShiftTracker, read_range, window_size_for

# A patch must beat the deflated image clearly, or the image is carried whole (no source needed).
WHOLE_ABOVE = 0.9
# Block operations the builder may write in one package: about 26 bytes of manifest each.
OPS_BUDGET = 16384
DEFLATE_PIECE = 16 << 20
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Measured:
    path: Path
    size: int
    sha256: str
    deflating: list[Future[int]]  # the deflated sizes of its pieces: about what a full package carries

    @property
    def deflated(self) -> int:
        return sum(piece.result() for piece in self.deflating)


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
    # Deflating a target costs as much as diffing it: threads (zlib releases the GIL) measure it meanwhile.
    with (tempfile.TemporaryDirectory(prefix=".tsuf-delta-", dir=output.parent) as staging,
          ThreadPoolExecutor(workers, thread_name_prefix="deflate") as deflating):
        staging = Path(staging)
        old = _open_build(Path(source), staging / "source", trust_store)
        new = _open_build(Path(target), staging / "target", trust_store)
        description = _target_description(new, description)
        source_build = old.manifest.build if old.manifest else source_build
        if not source_build:
            raise BuildError("the source build is not named", "Give --source-build for a folder of images.")
        targets = {partition: _measure(path, deflating) for partition, path in new.images.items()}
        if oem_key:
            targets[BOOT_METADATA_PARTITION] = _measure(
                _boot_metadata(targets, description, oem_key, staging), deflating)
        if not 1 <= len(targets) <= MAX_IMAGES:
            raise BuildError(f"a package holds 1 to {MAX_IMAGES} images; {target} has {len(targets)}")
        window_size = window_size_for(sum(m.size for m in targets.values()), window_size)
        window_count = sum(-(-m.size // window_size) for m in targets.values())
        differ = _Differ(workers, window_size, max(16, OPS_BUDGET // window_count), staging, progress)
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
        full_bytes = sum(m.deflated for m in targets.values())
    return DeltaBuildResult(manifest, output.stat().st_size, full_bytes, time.monotonic() - started, workers)


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


def _measure(path: Path, deflating: ThreadPoolExecutor) -> Measured:
    """Size and SHA-256 now; the deflated size piece by piece on the `deflating` threads."""
    size, sha256 = _sha256_of(path)
    if size == 0:
        raise BuildError(f"{path}: the image is empty")
    pieces = [deflating.submit(_deflated_size, path, offset) for offset in range(0, size, DEFLATE_PIECE)]
    return Measured(path, size, sha256, pieces)


def _deflated_size(path: Path, offset: int) -> int:
    """The deflated size of one piece: deflated apart, pieces add up to within a few bytes of the whole."""
    deflate, deflated = zlib.compressobj(), 0
    with open(path, "rb") as image:
        image.seek(offset)
        for _ in range(DEFLATE_PIECE // CHUNK):
            if not (chunk := image.read(CHUNK)):
                break
            deflated += len(deflate.compress(chunk))
    return deflated + len(deflate.flush())


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

    def __init__(self, workers: int, window_size: int, window_ops: int, staging: Path, progress: Progress | None):
        self.workers = workers
        self.window_size = window_size
        self.window_ops = window_ops
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
        delta = DeltaEntry("patch", source_build, source_size, source_sha256, tuple(windows), BLOCK_VERSION)
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
              patches: Path) -> list[BlockWindow] | None:
        """The windows, their patches written to `patches` in order; None if a window's patch is too large.

        Windows are planned here, in order; only their residues go to the worker processes.
        """
        windows: list[BlockWindow] = []
        pending: deque[Future] = deque()
        # Not forked: the caller may have threads (a GUI), and a fork copies their locks.
        with (open(source_path, "rb") as source, open(target.path, "rb") as image, open(patches, "wb") as out,
              ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn")) as pool):
            planner = Planner(SourceIndex(source, source_size), ShiftTracker(source, source_size, self.window_size),
                              self.window_size + self.window_size // 4)
            if self.progress:
                self.progress(partition, 0, target.size)
            for offset in range(0, target.size, self.window_size):
                data = read_range(image, offset, min(self.window_size, target.size - offset))
                plan = planner.plan(offset, data, self.window_ops)
                pending.append(_submitted(pool, planner.index, plan, offset, data))
                # One window waiting per worker keeps memory bounded whatever the image size.
                if len(pending) > self.workers:
                    windows.append(self._collect(pending.popleft(), out, partition, target.size))
            while pending:
                windows.append(self._collect(pending.popleft(), out, partition, target.size))
        if any(w.patch_size > max_patch_size(w.diff_size) for w in windows if w.diff_size):
            return None
        return windows

    def _collect(self, future: Future, out, partition: str, total: int) -> BlockWindow:
        window, patch = future.result()
        out.write(patch)
        if self.progress:
            self.progress(partition, window.target_offset + window.target_size, total)
        return window


def _submitted(pool: ProcessPoolExecutor, index: SourceIndex, plan: WindowPlan, target_offset: int,
               target: bytes) -> Future:
    """A future of the window and its patch: diffed by a worker if the window has residue, else made here."""
    copied = b"".join(index.read(op.source_offset, op.length) for op in plan.ops if op.kind == "copy")
    reference = b"".join(index.read(offset, length) for offset, length in plan.reference)
    source_sha256 = hashlib.sha256(copied + reference).hexdigest()

    def window_of(patch: bytes) -> tuple[BlockWindow, bytes]:
        return BlockWindow(target_offset, len(target), hashlib.sha256(target).hexdigest(), source_sha256, plan.ops,
                           plan.reference, len(patch), hashlib.sha256(patch).hexdigest()), patch
    if not plan.residue:
        done: Future = Future()
        done.set_result(window_of(b""))
        return done
    made: Future = Future()
    diffing = pool.submit(_diff_residue, reference, plan.residue, target_offset)
    diffing.add_done_callback(lambda f: made.set_exception(f.exception()) if f.exception()
                              else made.set_result(window_of(f.result())))
    return made


def _diff_residue(reference: bytes, residue: bytes, target_offset: int) -> bytes:
    """One window's patch, made in a worker process."""
    patch = make_patch(reference, residue)
    # Applying costs a twentieth of diffing, and proves the patch before it is signed.
    if apply_patch(reference, patch, len(residue)) != residue:
        raise BuildError(f"the patch of the window at {target_offset} does not reproduce the target")
    return patch
