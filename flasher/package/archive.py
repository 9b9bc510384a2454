"""Safe reading of a package zip: names, limits, the signature first, then streamed hashes.

`PackageReader` checks every entry name and size in the central directory, reads the
manifest and signatures (small and bounded), has `trust.verify_manifest` decide, and
only then matches the images against the manifest. `extract_verified` copies an image
into a private file while hashing it, so what is flashed is the verified copy.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import (ArchiveError, ArchiveLimitExceeded, CompressionBomb, ExtraImage, ImageHashMismatch,
                     ImageSizeMismatch, MissingImage, NotAPackageFile, NotAWholeImage, PackageChanged, PackageError,
                     UnsafeEntryName)
from .manifest import MAX_IMAGES, MAX_MANIFEST_BYTES, MAX_TOTAL_SIZE, PARTITION_NAME, ImageEntry, Manifest, parse_manifest
from .trust import KEY_ID, Admission, SignatureReport, TrustedManifest, TrustStore, check_signatures, verify_manifest

MANIFEST_NAME = "manifest.json"
MAX_SIGNATURES = 16
MAX_SIGNATURE_BYTES = 1024
MAX_ENTRIES = 1 + MAX_SIGNATURES + MAX_IMAGES
# Deflate cannot expand more than about 1032:1; an entry claiming more lies in its header.
MAX_COMPRESSION_RATIO = 1100
COMPRESSION_METHODS = {"stored": zipfile.ZIP_STORED, "deflate": zipfile.ZIP_DEFLATED}
CHUNK = 1 << 20
# A package is its images plus the manifest, signatures and a little zip structure.
MAX_PACKAGE_BYTES = MAX_TOTAL_SIZE + (64 << 20)

_DRIVE = re.compile(r"[A-Za-z]:")
Progress = Callable[[int], None]


def check_entry_name(name: str) -> None:
    """Refuse names that could leave a folder or mean different files on another system."""
    parts = name.split("/")
    if ("\\" in name or "\0" in name or name.startswith("/") or _DRIVE.match(name)
            or any(part in ("", ".", "..") for part in parts)):
        raise UnsafeEntryName(f"unsafe entry name {name!r} in the package")


def check_entry(info: zipfile.ZipInfo) -> None:
    """A zip entry TSUF may read: a safe name, not encrypted, stored or deflated, and no
    larger than its compressed bytes can honestly expand to."""
    name = info.filename
    check_entry_name(name)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"entry {name!r} is encrypted")
    if info.compress_type not in COMPRESSION_METHODS.values():
        raise ArchiveError(f"entry {name!r} uses an unsupported compression method {info.compress_type}")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise ArchiveError(f"stored entry {name!r} has different stored and expanded sizes")
    if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise CompressionBomb(f"entry {name!r} claims to expand {info.compress_size} bytes to {info.file_size}")


def read_small_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A small entry (a manifest, a text file) whole, refused past `limit` bytes."""
    if info.file_size > limit:
        raise ArchiveLimitExceeded(f"{info.filename} is {info.file_size} bytes; at most {limit} are allowed")
    try:
        with archive.open(info) as entry:
            data = entry.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ArchiveError(f"{info.filename} is corrupt ({error})") from None
    if len(data) > limit:
        raise ArchiveLimitExceeded(f"{info.filename} is longer than {limit} bytes")
    return data


def _entry_kind(name: str) -> str | None:
    if name == MANIFEST_NAME:
        return "manifest"
    folder, _, file = name.partition("/")
    stem, dot, suffix = file.rpartition(".")
    if folder == "signatures" and dot and suffix == "sig" and KEY_ID.match(stem):
        return "signature"
    if folder == "images" and dot and suffix == "img" and PARTITION_NAME.match(stem):
        return "image"
    if folder == "patches" and dot and suffix == "bsdiff" and PARTITION_NAME.match(stem):
        return "patch"
    return None


def sha256_of_file(file: BinaryIO, max_bytes: int | None = None) -> str:
    """The file's SHA-256; past `max_bytes` it is refused rather than hashed on and on."""
    digest, total = hashlib.sha256(), 0
    file.seek(0)
    while chunk := file.read(CHUNK):
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise ArchiveLimitExceeded(f"the file gives more than the {max_bytes} bytes it had when opened")
        digest.update(chunk)
    return digest.hexdigest()


def open_package_file(path: Path) -> tuple[BinaryIO, int]:
    """The package opened for reading, and its size: only a regular file no larger than a package
    may be. A device, pipe or folder would be read forever or block (O_NONBLOCK: opening a
    pipe does not wait for a writer)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise ArchiveError(f"{path}: cannot open ({error.strerror})", "Check the package file name.") from None
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode):
        os.close(fd)
        raise NotAPackageFile(f"{path} is not a package file but {_kind(found.st_mode)}")
    if found.st_size > MAX_PACKAGE_BYTES:
        os.close(fd)
        raise ArchiveLimitExceeded(f"{path} is {found.st_size} bytes; a package is at most {MAX_PACKAGE_BYTES}")
    return os.fdopen(fd, "rb"), found.st_size


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def copy_verified(source: BinaryIO, entry: ImageEntry, sink: Callable[[bytes], object],
                  progress: Progress | None = None) -> None:
    """Stream `source` into `sink` while hashing; never reads past size + 1 bytes."""
    digest, total = hashlib.sha256(), 0
    try:
        while chunk := source.read(min(CHUNK, entry.size + 1 - total)):
            total += len(chunk)
            if total > entry.size:
                raise ImageSizeMismatch(f"image {entry.partition} is longer than the {entry.size} bytes "
                                        "the manifest declares")
            digest.update(chunk)
            sink(chunk)
            if progress:
                progress(total)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ImageHashMismatch(f"image {entry.partition} is corrupt in the archive ({error})") from None
    if total != entry.size:
        raise ImageSizeMismatch(f"image {entry.partition} is {total} bytes; the manifest declares {entry.size}")
    if digest.hexdigest() != entry.sha256:
        raise ImageHashMismatch(f"image {entry.partition} does not match the SHA-256 in the manifest")


class _Archive:
    """The zip's central directory, checked: safe names, known entries, bounded sizes."""

    def __init__(self, file: BinaryIO):
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
            raise ArchiveError(f"not a valid zip archive ({error})") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveLimitExceeded(f"the archive has {len(infos)} entries; a package has at most {MAX_ENTRIES}")
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            self._add(info)
        if sum(info.file_size for info in infos) > MAX_TOTAL_SIZE + MAX_MANIFEST_BYTES + MAX_ENTRIES * MAX_SIGNATURE_BYTES:
            raise ArchiveLimitExceeded("the archive's entries add up to more than a package may hold")
        if MANIFEST_NAME not in self.entries:
            raise ArchiveError("the archive has no manifest.json: it is not a TSUF package")
        self.manifest_bytes = self._read_small(self.entries[MANIFEST_NAME], MAX_MANIFEST_BYTES)
        self.signatures = {name[len("signatures/"):-len(".sig")]: self._read_small(info, MAX_SIGNATURE_BYTES)
                           for name, info in self.entries.items() if _entry_kind(name) == "signature"}

    def _add(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        check_entry(info)
        if name in self.entries:
            raise ArchiveError(f"entry {name!r} appears twice in the archive")
        if _entry_kind(name) is None:
            raise ExtraImage(f"entry {name!r} is not part of a package")
        self.entries[name] = info

    def _read_small(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        return read_small_entry(self.zip, info, limit)

    def match_images(self, manifest: Manifest) -> None:
        """Every image and patch in the manifest is present, as declared; nothing else is."""
        listed = {entry.archive_name for entry in manifest.images if entry.archive_name}
        for entry in manifest.images:
            if entry.archive_name is None:
                continue
            info = self.entries.get(entry.archive_name)
            if info is None:
                raise MissingImage(f"the manifest lists {entry.archive_name} but the archive lacks it")
            if info.file_size != entry.archive_size:
                raise ImageSizeMismatch(f"{entry.archive_name} is {info.file_size} bytes in the archive; "
                                        f"the manifest declares {entry.archive_size}")
            if info.compress_type != COMPRESSION_METHODS[entry.compression]:
                raise ArchiveError(f"{entry.archive_name} is not compressed as the manifest declares")
        for name in self.entries:
            if _entry_kind(name) in ("image", "patch") and name not in listed:
                raise ExtraImage(f"the archive holds {name}, which the manifest does not list")


@contextmanager
def private_image_file(dest_dir: Path, partition: str) -> Iterator[tuple[Path, BinaryIO]]:
    """A new 0600 file in a new 0700 folder under `dest_dir`, flushed to disk when the block
    ends; if the block fails, the file and its folder are gone before the error goes on."""
    folder = Path(tempfile.mkdtemp(prefix=f"tsuf-{partition}-", dir=dest_dir))
    target = folder / f"{partition}.img"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as out:
            yield target, out
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


class PackageReader:
    """An open package whose signature and manifest are verified; images are checked as they are read.

    `expected_sha256` (the `package_sha256` of an earlier run) refuses a package file
    that changed since, for resuming an interrupted update.
    """

    def __init__(self, path: Path, trust_store: TrustStore, *, expected_sha256: str | None = None):
        self.path = Path(path)
        self._file, size = open_package_file(self.path)
        try:
            self.package_sha256 = sha256_of_file(self._file, size)
            if expected_sha256 is not None and expected_sha256 != self.package_sha256:
                raise PackageChanged(f"{self.path} is not the package verified before")
            self._archive = _Archive(self._file)
            self.trusted: TrustedManifest = verify_manifest(self._archive.manifest_bytes,
                                                            self._archive.signatures, trust_store)
            self._archive.match_images(self.manifest)
        except BaseException:
            self._file.close()
            raise

    @property
    def manifest(self) -> Manifest:
        return self.trusted.manifest

    def extract_verified(self, partition: str, dest_dir: Path, progress: Progress | None = None) -> Path:
        """Copy one image into a new private folder (0700) under dest_dir as a 0600 file, verified.

        On any mismatch the copy is deleted before the error is raised. A delta package's
        copied or patched images are made by flasher.delta.apply.reconstruct instead.
        """
        entry = self.manifest.image(partition)
        if entry.archive_name != f"images/{partition}.img":
            raise NotAWholeImage(f"image {partition} is a {entry.delta.method} entry of a delta package, "
                                 "not a whole image")
        with private_image_file(dest_dir, partition) as (target, out):
            self._stream(entry, out.write, progress)
        return target

    def extract_all_verified(self, dest_dir: Path, progress: Progress | None = None) -> dict[str, Path]:
        """Every image as a verified private copy, or none: copies made before a failure are deleted.
        `progress` counts bytes over all images."""
        copies: dict[str, Path] = {}
        done = 0
        try:
            for entry in self.manifest.images:
                def image_progress(got: int, base: int = done) -> None:
                    if progress:
                        progress(base + got)
                copies[entry.partition] = self.extract_verified(entry.partition, dest_dir, image_progress)
                done += entry.size
        except BaseException:
            for copy in copies.values():
                shutil.rmtree(copy.parent, ignore_errors=True)
            raise
        return copies

    def verify_all(self, progress: Progress | None = None) -> None:
        """Hash every image, and every patch window of a delta, against the manifest without keeping a copy."""
        for entry in self.manifest.images:
            if entry.archive_name == f"images/{entry.partition}.img":
                self._stream(entry, lambda chunk: None, progress)
            elif entry.archive_name:
                self._verify_patches(entry)

    def open_patches(self, partition: str) -> BinaryIO:
        """The stream of patches/<partition>.bsdiff: the windows' patches in order, as the manifest sizes them."""
        entry = self.manifest.image(partition)
        if entry.delta is None or entry.delta.method != "patch":
            raise NotAWholeImage(f"image {partition} has no patches in this package")
        try:
            return self._archive.zip.open(self._archive.entries[entry.archive_name])
        except (zipfile.BadZipFile, ValueError) as error:
            raise ImageHashMismatch(f"the patches of {partition} cannot be read from the archive ({error})") from None

    def _verify_patches(self, entry: ImageEntry) -> None:
        try:
            with self.open_patches(entry.partition) as patches:
                for index, window in enumerate(entry.delta.windows):
                    if hashlib.sha256(patches.read(window.patch_size)).hexdigest() != window.patch_sha256:
                        raise ImageHashMismatch(f"patch window {index} of {entry.partition} does not match "
                                                "the SHA-256 in the manifest")
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise ImageHashMismatch(f"the patches of {entry.partition} are corrupt in the archive ({error})") from None

    def _stream(self, entry: ImageEntry, sink: Callable[[bytes], object], progress: Progress | None) -> None:
        try:
            source = self._archive.zip.open(self._archive.entries[entry.archive_name])
        except (zipfile.BadZipFile, ValueError) as error:
            raise ImageHashMismatch(f"image {entry.partition} cannot be read from the archive ({error})") from None
        with source:
            copy_verified(source, entry, sink, progress)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class PackageInfo:
    """What `tsuf package inspect` shows; the manifest is NOT trusted unless `refusal` is None."""

    manifest: Manifest
    signatures: SignatureReport
    admission: Admission | None
    refusal: PackageError | None


def inspect_package(path: Path, trust_store: TrustStore) -> PackageInfo:
    file, _ = open_package_file(path)
    with file:
        archive = _Archive(file)
        manifest = parse_manifest(archive.manifest_bytes)
        signatures = check_signatures(archive.manifest_bytes, archive.signatures, trust_store)
        try:
            admission, refusal = verify_manifest(archive.manifest_bytes, archive.signatures, trust_store).admission, None
        except PackageError as error:
            admission, refusal = None, error
        return PackageInfo(manifest, signatures, admission, refusal)
