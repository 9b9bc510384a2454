"""Reconstructing a target image on the host from a delta package and the source image.

The source is hashed whole before any patch is applied, and again window by window
as it is read, so a source that changes in between is caught too. Each window holds
its source range, its patch and its output in memory, nothing more. The output is
a private file (0600 in a new 0700 folder) that is deleted on any failure; what is
returned has been hashed against the manifest.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..package.archive import CHUNK, PackageReader, private_image_file
from ..package.delta_manifest import DeltaEntry
from ..package.manifest import ImageEntry
from .bsdiff import apply_patch
from .errors import CorruptPatch, DeltaError, DeltaSourceMismatch, PatchRejected
from .windows import read_range

Progress = Callable[[int], None]


def check_source(entry: ImageEntry, source_path: Path) -> None:
    """DeltaSourceMismatch unless `source_path` starts with the source image the entry's delta was built from.

    Only the first `source_size` bytes count, so a partition read back whole (longer
    than the image once written to it) is as good as the image itself.
    """
    delta = _delta_of(entry)
    digest, size = hashlib.sha256(), 0
    try:
        with open(source_path, "rb") as source:
            while chunk := source.read(min(CHUNK, delta.source_size - size)):
                size += len(chunk)
                digest.update(chunk)
    except OSError as error:
        raise DeltaSourceMismatch(f"{source_path}: cannot read the source image ({error.strerror})") from None
    if size != delta.source_size or digest.hexdigest() != delta.source_sha256:
        raise DeltaSourceMismatch(f"{source_path} is not the {entry.partition} image of build {delta.source_build} "
                                  "this delta applies to")


def reconstruct(reader: PackageReader, partition: str, source_path: Path | None, dest_dir: Path,
                progress: Progress | None = None) -> Path:
    """The verified target image of `partition` as a private file under `dest_dir`.

    `source_path` holds the source build's image of that partition (None only for a
    `whole` entry); bytes after its first `source_size` are ignored. Raises
    DeltaSourceMismatch if the source is not the one the delta was built from
    (before anything is written), PatchRejected (CorruptPatch for broken patch
    data) if a patch is malformed or makes other bytes.
    """
    entry = reader.manifest.image(partition)
    delta = _delta_of(entry)
    if delta.method == "whole":
        return reader.extract_verified(partition, dest_dir, progress)
    if source_path is None:
        raise DeltaSourceMismatch(f"image {partition} is made from the source build's image; none was given")
    check_source(entry, source_path)
    with private_image_file(dest_dir, partition) as (target, out), open(source_path, "rb") as source:
        digest = hashlib.sha256()

        def sink(data: bytes) -> None:
            digest.update(data)
            out.write(data)

        if delta.method == "copy":
            _copy(source, delta, sink, progress)
        else:
            _patch(reader, entry, source, sink, progress)
        if digest.hexdigest() != entry.sha256:
            raise PatchRejected(f"the reconstructed {partition} image does not match the SHA-256 in the manifest")
    return target


def reconstruct_all(reader: PackageReader, source_for: Callable[[ImageEntry], Path | None], dest_dir: Path,
                    progress: Progress | None = None) -> dict[str, Path]:
    """Every target image of a delta package, or none: images made before a failure are deleted.

    `source_for(entry)` gives the source image's path for entries that need one
    (`entry.delta.needs_source`); it is called just before that image is made.
    """
    made: dict[str, Path] = {}
    try:
        for entry in reader.manifest.images:
            source = source_for(entry) if _delta_of(entry).needs_source else None
            made[entry.partition] = reconstruct(reader, entry.partition, source, dest_dir, progress)
    except BaseException:
        for path in made.values():
            shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return made


def _delta_of(entry: ImageEntry) -> DeltaEntry:
    if entry.delta is None:
        raise DeltaError(f"image {entry.partition} is a full image, not part of a delta package",
                         "Extract it with PackageReader.extract_verified.")
    return entry.delta


def _copy(source: BinaryIO, delta: DeltaEntry, sink: Callable[[bytes], None], progress: Progress | None) -> None:
    digest, done = hashlib.sha256(), 0
    while chunk := source.read(min(CHUNK, delta.source_size - done)):
        digest.update(chunk)
        sink(chunk)
        done += len(chunk)
        if progress:
            progress(done)
    if done != delta.source_size or digest.hexdigest() != delta.source_sha256:
        raise DeltaSourceMismatch("the source image changed while it was being copied")


def _patch(reader: PackageReader, entry: ImageEntry, source: BinaryIO, sink: Callable[[bytes], None],
           progress: Progress | None) -> None:
    with reader.open_patches(entry.partition) as patches:
        for index, window in enumerate(entry.delta.windows):
            what = f"{entry.partition} window {index}"
            try:
                old = read_range(source, window.source_offset, window.source_size)
            except EOFError:
                raise DeltaSourceMismatch(f"the source image is shorter than {what} needs") from None
            if hashlib.sha256(old).hexdigest() != window.source_sha256:
                raise DeltaSourceMismatch(f"the source bytes of {what} differ from the build the delta was made from")
            try:
                patch = patches.read(window.patch_size)
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise CorruptPatch(f"the patch of {what} cannot be read from the package ({error})") from None
            if len(patch) != window.patch_size or hashlib.sha256(patch).hexdigest() != window.patch_sha256:
                raise PatchRejected(f"the patch of {what} does not match the SHA-256 in the manifest")
            try:
                new = apply_patch(old, patch, window.target_size)
            except PatchRejected as error:
                raise type(error)(f"{what}: {error}") from None
            if hashlib.sha256(new).hexdigest() != window.target_sha256:
                raise PatchRejected(f"{what} makes other bytes than the manifest declares")
            sink(new)
            if progress:
                progress(window.target_offset + window.target_size)
