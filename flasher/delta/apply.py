"""Reconstructing a target image on the host from a delta package and the source image.

A window's bytes are made by its operations in order: source ranges copied, patterns
filled, and the output of its patch (applied to its reference extents) for the rest;
a version 1 window is one such patch. The source is hashed whole before any patch is
applied, and again window by window as it is read, so a source that changes in
between is caught too. Memory is a few
windows' source ranges, patches and outputs, whatever the image size. The output is
a private file (0600 in a new 0700 folder) that is deleted on any failure; what is
returned has been hashed against the manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..package.archive import CHUNK, PackageReader, private_image_file
from ..package.delta_manifest import BlockWindow, DeltaEntry, DeltaWindow
from ..package.manifest import ImageEntry
from .bsdiff import DecodedPatch, apply_decoded, decode_patch
from .errors import CorruptPatch, DeltaError, DeltaSourceMismatch, PatchRejected
from .windows import read_range

Progress = Callable[[int], None]
Sink = Callable[..., None]  # sink(data, hole=False): hash the data, and write it unless it is zeros sent as a hole
Window = DeltaWindow | BlockWindow
# A window, the source bytes its copies read, its reference and its decoded patch (None: no diff ops).
Prepared = tuple[Window, bytes, bytes, DecodedPatch | None]
# Windows prepared ahead of the one being applied: enough to keep two cores busy.
AHEAD = 2


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
        raise _unreadable(source_path, error) from None
    if size != delta.source_size or digest.hexdigest() != delta.source_sha256:
        raise DeltaSourceMismatch(f"{source_path} is not the {entry.partition} image of build {delta.source_build} "
                                  "this delta applies to")


def reconstruct(reader: PackageReader, partition: str, source_path: Path | None, dest_dir: Path,
                progress: Progress | None = None) -> Path:
    """The verified target image of `partition` as a private file under `dest_dir`.

    `source_path` holds the source build's image of that partition (None only for a
    `whole` entry); bytes after its first `source_size` are ignored. Raises
    DeltaSourceMismatch if the source is not the one the delta was built from
    (whatever else went wrong: a wrong source makes wrong windows), PatchRejected
    (CorruptPatch for broken patch data) if a patch is malformed or makes other
    bytes; the private file is then deleted.
    """
    entry = reader.manifest.image(partition)
    delta = _delta_of(entry)
    if delta.method == "whole":
        return reader.extract_verified(partition, dest_dir, progress)
    if source_path is None:
        raise DeltaSourceMismatch(f"image {partition} is made from the source build's image; none was given")
    if delta.method == "copy":
        check_source(entry, source_path)
        with open(source_path, "rb") as source:
            return _made(entry, dest_dir, lambda sink: _copy(source, delta, sink, progress))
    try:
        source = open(source_path, "rb")
    except OSError as error:
        raise _unreadable(source_path, error) from None
    # The whole source is hashed on a thread while the windows are made (hashlib releases the GIL),
    # and nothing is returned before it matched.
    with source, _prepared(reader, entry, source) as windows, ThreadPoolExecutor(1) as checker:
        checked = checker.submit(check_source, entry, source_path)

        def make(sink: Sink) -> None:
            try:
                _patch(windows, entry, sink, progress)
            except DeltaError:
                checked.result()
                raise
            checked.result()
        return _made(entry, dest_dir, make)


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


def _made(entry: ImageEntry, dest_dir: Path, make: Callable[[Sink], None]) -> Path:
    """The private file `make(sink)` writes, checked against the image's SHA-256 (deleted if it fails).

    Zeros sent as a hole are hashed but not written: the file is sparse there, and reads as zeros.
    """
    with private_image_file(dest_dir, entry.partition) as (target, out):
        digest = hashlib.sha256()

        def sink(data: bytes, hole: bool = False) -> None:
            digest.update(data)
            if hole:
                out.seek(len(data), os.SEEK_CUR)
            else:
                out.write(data)
        make(sink)
        out.truncate()  # a hole at the end still counts in the file's size
        if digest.hexdigest() != entry.sha256:
            raise PatchRejected(f"the reconstructed {entry.partition} image does not match the SHA-256 in the manifest")
    return target


def _unreadable(source_path: Path, error: OSError) -> DeltaSourceMismatch:
    return DeltaSourceMismatch(f"{source_path}: cannot read the source image ({error.strerror})")


def _delta_of(entry: ImageEntry) -> DeltaEntry:
    if entry.delta is None:
        raise DeltaError(f"image {entry.partition} is a full image, not part of a delta package",
                         "Extract it with PackageReader.extract_verified.")
    return entry.delta


def _copy(source: BinaryIO, delta: DeltaEntry, sink: Sink, progress: Progress | None) -> None:
    digest, done = hashlib.sha256(), 0
    while chunk := source.read(min(CHUNK, delta.source_size - done)):
        digest.update(chunk)
        sink(chunk)
        done += len(chunk)
        if progress:
            progress(done)
    if done != delta.source_size or digest.hexdigest() != delta.source_sha256:
        raise DeltaSourceMismatch("the source image changed while it was being copied")


@contextmanager
def _prepared(reader: PackageReader, entry: ImageEntry, source: BinaryIO) -> Iterator[Iterator[Prepared]]:
    """The windows of a patched image in order, each with its source range and decoded patch.

    From the moment this opens, worker threads read, hash and decode AHEAD windows ahead of the
    one taken (bz2 and SHA-256 release the GIL). The patch stream is read here, in order; each
    window's errors wait in its future and are raised when that window is taken.
    """
    windows = entry.delta.windows
    source_lock = threading.Lock()
    with reader.open_patches(entry.partition) as patches, ThreadPoolExecutor(AHEAD) as workers:
        ready: deque[Future[Prepared]] = deque()

        def prepare(index: int) -> None:
            if index < len(windows):
                what = f"{entry.partition} window {index}"
                patch = _read_patch(patches, windows[index], what)
                ready.append(workers.submit(_prepare, source, source_lock, windows[index], patch, what))

        def taken() -> Iterator[Prepared]:
            for index in range(len(windows)):
                current = ready.popleft()
                prepare(index + AHEAD)  # before waiting, so no worker idles while the caller applies
                yield current.result()
        for index in range(AHEAD):
            prepare(index)
        yield taken()


def _patch(windows: Iterator[Prepared], entry: ImageEntry, sink: Sink,
           progress: Progress | None) -> None:
    """Apply the prepared windows in order, each output hashed here and written behind on a thread.

    Only this thread lets bsdiff4 apply a patch, and only a checked one. The source bytes a
    window read are hashed only if its output is wrong, to tell a changed source from a bad patch:
    any change to them changes the output, which is always hashed.
    """
    filled: dict[tuple, str] = {}  # the SHA-256 of each window made of fills only: free space repeats
    with ThreadPoolExecutor(1) as writer:
        writing: tuple[Future[None], int] | None = None
        for index, (window, copied, reference, decoded) in enumerate(windows):
            what = f"{entry.partition} window {index}"
            try:
                made = apply_decoded(reference, decoded) if decoded else b""
            except PatchRejected as error:
                raise type(error)(f"{what}: {error}") from None
            new = _assembled(window, copied, made)
            del decoded, made
            if _digest(window, new, filled) != window.target_sha256:
                _check_read(window, copied, reference, what)
                raise PatchRejected(f"{what} makes other bytes than the manifest declares")
            del copied, reference
            _written(writing, progress)
            hole = all(op.kind == "fill" and not any(op.pattern) for op in window.ops)
            writing = writer.submit(sink, new, hole), window.target_offset + window.target_size
        _written(writing, progress)


def _assembled(window: Window, copied: bytes, made: bytes) -> bytes:
    """The window's target: each op's bytes in order, from the copies, its fill pattern or the patch's output."""
    if len(window.ops) == 1 and window.ops[0].kind == "diff":
        return made
    parts, copied_at, made_at = [], 0, 0
    copied, made = memoryview(copied), memoryview(made)
    for op in window.ops:
        if op.kind == "copy":
            parts.append(copied[copied_at:copied_at + op.length])
            copied_at += op.length
        elif op.kind == "fill":
            parts.append((op.pattern * -(-op.length // len(op.pattern)))[:op.length])
        else:
            parts.append(made[made_at:made_at + op.length])
            made_at += op.length
    return b"".join(parts)


def _digest(window: Window, new: bytes, filled: dict[tuple, str]) -> str:
    if not all(op.kind == "fill" for op in window.ops):
        return hashlib.sha256(new).hexdigest()
    if window.ops not in filled:
        filled[window.ops] = hashlib.sha256(new).hexdigest()
    return filled[window.ops]


def _check_read(window: Window, copied: bytes, reference: bytes, what: str) -> None:
    digest = hashlib.sha256(copied)
    digest.update(reference)
    if digest.hexdigest() != window.source_sha256:
        raise DeltaSourceMismatch(f"the source bytes of {what} differ from the build the delta was made from")


def _prepare(source: BinaryIO, source_lock: threading.Lock, window: Window, patch: bytes | CorruptPatch,
             what: str) -> Prepared:
    """The source bytes the window reads, and its patch, checked and decoded."""
    with source_lock:
        try:
            copied = b"".join(read_range(source, op.source_offset, op.length) for op in window.ops
                              if op.kind == "copy")
            reference = b"".join(read_range(source, offset, length) for offset, length in window.reference)
        except EOFError:
            raise DeltaSourceMismatch(f"the source image is shorter than {what} needs") from None
    return window, copied, reference, _decode(patch, window, what)


def _read_patch(patches: BinaryIO, window: Window, what: str) -> bytes | CorruptPatch:
    try:
        return patches.read(window.patch_size)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        return CorruptPatch(f"the patch of {what} cannot be read from the package ({error})")


def _decode(patch: bytes | CorruptPatch, window: Window, what: str) -> DecodedPatch | None:
    if isinstance(patch, CorruptPatch):
        raise patch
    if len(patch) != window.patch_size or hashlib.sha256(patch).hexdigest() != window.patch_sha256:
        raise PatchRejected(f"the patch of {what} does not match the SHA-256 in the manifest")
    if not window.diff_size:
        return None
    try:
        return decode_patch(patch, window.diff_size)
    except PatchRejected as error:
        raise type(error)(f"{what}: {error}") from None


def _written(writing: tuple[Future[None], int] | None, progress: Progress | None) -> None:
    """Wait for the window being written (its error is raised here), then report its end."""
    if writing is not None:
        writing[0].result()
        if progress:
            progress(writing[1])
