"""Factory images as manufacturers publish them for `fastboot update`: a zip of NAME.img
with android-info.txt, and on phones with dynamic partitions super_empty.img and, on
newer ones, fastboot-info.txt.

Nobody signed them for TSUF, so they are opened only on the user's explicit word
(`trust.admit_unsigned_images`). They then take the same update as a signed package,
with the manifest made here: the product and every other requirement from
android-info.txt (checked against the handset before any write), the build and rollback
index that their vbmeta image states (or none), and each image's size. The images are
copied into private files (sparse ones expanded) and hashed on the way: what is flashed,
read back and reported is those bytes. Images for the other slot (`*_other.img`,
`flash --slot-other`) and user data are left out, each with its reason.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from ..lp.image import read_super_empty
from ..sparse import SparseFormatError, expand, is_sparse
from ..sparse.format import FILE_HEADER_SIZE, unpack_file_header
from .android_info import MAX_ANDROID_INFO_BYTES, Requirement, parse_android_info, products
from .archive import (CHUNK, Progress, check_entry, open_package_file, private_image_file, read_small_entry,
                      sha256_of_file)
from .errors import ArchiveError, ArchiveLimitExceeded, ImageSizeMismatch, ManifestError, MissingImage
from .fastboot_info import MAX_FASTBOOT_INFO_BYTES, FastbootInfo, parse_fastboot_info
from .manifest import (MAX_IMAGES, MAX_SUPER_EMPTY_SIZE, MAX_TOTAL_SIZE, PARTITION_NAME, SUPER_EMPTY, ImageEntry,
                       Manifest, utc_timestamp)
from .schema import MAX_IMAGE_SIZE
from .stated_build import MAX_VBMETA, NOTHING_STATED, stated_build
from .trust import admit_unsigned_images

ANDROID_INFO = "android-info.txt"
FASTBOOT_INFO = "fastboot-info.txt"
VBMETA = "vbmeta"
MAX_ENTRIES = 1024
NEVER_WRITTEN = {"userdata": "the user's data is never written by an update",
                 "cache": "the user's data is never written by an update",
                 "metadata": "the user's data is never written by an update"}
OTHER_SLOT = "for the other slot, which keeps the build that runs now"


class NotFactoryImages(ManifestError):
    hint = ("Give the zip of images inside the manufacturer's factory download (image-*.zip, the one "
            "with android-info.txt), or a signed TSUF package.")


def is_factory_zip(path: Path) -> bool:
    """A zip with android-info.txt and no TSUF manifest: factory images, not a package."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist()[:MAX_ENTRIES])
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return ANDROID_INFO in names and "manifest.json" not in names


class FactoryImages:
    """An open factory zip, read into a manifest; `extract_all_verified` makes the private copies."""

    def __init__(self, path: Path, *, user_said_yes: bool):
        self.path = Path(path)
        admit_unsigned_images(self.path.name, user_said_yes)
        self._file, size = open_package_file(self.path)
        try:
            self.package_sha256 = sha256_of_file(self._file, size)
            self._zip = _open_zip(self._file)
            self.skipped: dict[str, str] = {}
            """Image file -> why it is not written."""
            self._manifest = self._read()
        except BaseException:
            self._file.close()
            raise

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self._manifest.requirements

    def _read(self) -> Manifest:
        entries = {info.filename: info for info in self._zip.infolist()}
        if ANDROID_INFO not in entries:
            raise NotFactoryImages(f"{self.path.name} has no {ANDROID_INFO}: it is not factory images")
        requirements = parse_android_info(self._text(entries[ANDROID_INFO], MAX_ANDROID_INFO_BYTES))
        plan = (parse_fastboot_info(self._text(entries[FASTBOOT_INFO], MAX_FASTBOOT_INFO_BYTES))
                if FASTBOOT_INFO in entries else None)
        self._files = self._choose(entries, plan)
        if not [name for name in self._files if name != SUPER_EMPTY]:
            raise NotFactoryImages(f"{self.path.name} holds no image an update writes")
        if SUPER_EMPTY in self._files:  # refused here, not on the handset
            read_super_empty(read_small_entry(self._zip, self._files[SUPER_EMPTY], MAX_SUPER_EMPTY_SIZE))
        stated = stated_build(self._head(self._files[VBMETA], MAX_VBMETA)) if VBMETA in self._files else NOTHING_STATED
        images = tuple(ImageEntry(partition, partition != SUPER_EMPTY, self._raw_size(info), "",
                                  "stored" if info.compress_type == zipfile.ZIP_STORED else "deflate")
                       for partition, info in self._files.items())
        if sum(entry.size for entry in images) > MAX_TOTAL_SIZE:
            raise ArchiveLimitExceeded(f"{self.path.name}'s images add up to more than {MAX_TOTAL_SIZE} bytes")
        named = products(requirements)
        return Manifest(package_id=f"factory-{self.package_sha256[:12]}", product=named[0] if named else "",
                        hw_revisions=(), build=stated.build, rollback_index=stated.rollback_index,
                        min_battery_mv=0, created=utc_timestamp(), images=images,
                        requirements=requirements, signed=False)

    def _choose(self, entries: dict[str, zipfile.ZipInfo], plan: FastbootInfo | None) -> dict[str, zipfile.ZipInfo]:
        """Partition -> entry of every image written, in the order the plan (or the zip) gives."""
        files: dict[str, zipfile.ZipInfo] = {}
        if plan is not None:
            for image in plan.images:
                if image.other_slot:
                    self.skipped[image.image] = OTHER_SLOT
                elif image.image not in entries:
                    raise MissingImage(f"{FASTBOOT_INFO} flashes {image.image}, which {self.path.name} lacks")
                else:
                    files[image.partition] = entries[image.image]
            if f"{SUPER_EMPTY}.img" in entries:
                files[SUPER_EMPTY] = entries[f"{SUPER_EMPTY}.img"]
        else:
            for name, info in sorted(entries.items()):
                stem, dot, suffix = name.rpartition(".")
                if "/" in name or suffix != "img" or not dot:
                    continue
                if stem.endswith("_other"):
                    self.skipped[name] = OTHER_SLOT
                elif stem in NEVER_WRITTEN:
                    self.skipped[name] = NEVER_WRITTEN[stem]
                else:
                    files[stem] = info
        for partition, info in files.items():
            if not PARTITION_NAME.match(partition):
                raise NotFactoryImages(f"{info.filename} is not named after a partition")
            if info.file_size > MAX_IMAGE_SIZE:
                raise ArchiveLimitExceeded(f"{info.filename} is {info.file_size} bytes; an image is at most "
                                           f"{MAX_IMAGE_SIZE}")
        if len(files) > MAX_IMAGES:
            raise ArchiveLimitExceeded(f"{self.path.name} holds {len(files)} images; at most {MAX_IMAGES} are flashed")
        return files

    def _head(self, info: zipfile.ZipInfo, size: int) -> bytes:
        try:
            with self._zip.open(info) as entry:
                return entry.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise ArchiveError(f"{info.filename} is corrupt ({error})") from None

    def _text(self, info: zipfile.ZipInfo, limit: int) -> str:
        return read_small_entry(self._zip, info, limit).decode("utf-8", "replace")

    def _raw_size(self, info: zipfile.ZipInfo) -> int:
        """The bytes an image writes: a sparse image's expanded size, from its header."""
        head = self._head(info, FILE_HEADER_SIZE)
        if not is_sparse(head):
            return info.file_size
        try:
            size = unpack_file_header(head).expanded_size
        except SparseFormatError as error:
            raise ArchiveError(f"{info.filename}: broken sparse image ({error})") from None
        if size > MAX_IMAGE_SIZE:
            raise ArchiveLimitExceeded(f"{info.filename} expands to {size} bytes; an image is at most {MAX_IMAGE_SIZE}")
        return size

    def extract_all_verified(self, dest_dir: Path, progress: Progress | None = None) -> dict[str, Path]:
        """Every image as a private raw copy, hashed into the manifest; or none, on any fault."""
        copies: dict[str, Path] = {}
        hashed: list[ImageEntry] = []
        done = 0
        try:
            for entry in self._manifest.images:
                def image_progress(got: int, base: int = done) -> None:
                    if progress:
                        progress(base + got)
                copies[entry.partition], digest = self._extract(entry, dest_dir, image_progress)
                hashed.append(replace(entry, sha256=digest))
                done += entry.size
        except BaseException:
            for copy in copies.values():
                shutil.rmtree(copy.parent, ignore_errors=True)
            raise
        self._manifest = replace(self._manifest, images=tuple(hashed))
        return copies

    def _extract(self, entry: ImageEntry, dest_dir: Path, progress: Progress) -> tuple[Path, str]:
        info = self._files[entry.partition]
        if entry.size == info.file_size and not self._sparse(info):
            with private_image_file(dest_dir, entry.partition) as (target, out):
                digest = _copy(self._zip, info, out, progress)
            return target, digest
        with private_image_file(dest_dir, f"{entry.partition}-sparse") as (packed, out):
            _copy(self._zip, info, out, lambda _done: None)
        try:
            with private_image_file(dest_dir, entry.partition) as (target, out), open(packed, "rb") as source:
                try:
                    expand(source, out, max_size=MAX_IMAGE_SIZE)
                except SparseFormatError as error:
                    raise ArchiveError(f"{info.filename}: broken sparse image ({error})") from None
        finally:
            shutil.rmtree(packed.parent, ignore_errors=True)
        with open(target, "rb") as written:
            digest = hashlib.sha256()
            total = 0
            while chunk := written.read(CHUNK):
                digest.update(chunk)
                total += len(chunk)
                progress(total)
        if total != entry.size:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise ImageSizeMismatch(f"{info.filename} expands to {total} bytes; its header said {entry.size}")
        return target, digest.hexdigest()

    def _sparse(self, info: zipfile.ZipInfo) -> bool:
        try:
            with self._zip.open(info) as entry:
                return is_sparse(entry.read(4))
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise ArchiveError(f"{info.filename} is corrupt ({error})") from None

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def __enter__(self) -> FactoryImages:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _open_zip(file: BinaryIO) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise ArchiveError(f"not a valid zip archive ({error})") from None
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ArchiveLimitExceeded(f"the zip has {len(infos)} entries; factory images have at most {MAX_ENTRIES}")
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise ArchiveError("an entry appears twice in the zip")
    for info in infos:
        check_entry(info)
    return archive


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: BinaryIO, progress: Progress) -> str:
    """The entry's bytes into `out`, never more than its header declares; their SHA-256."""
    digest, total = hashlib.sha256(), 0
    try:
        with archive.open(info) as entry:
            while chunk := entry.read(min(CHUNK, info.file_size + 1 - total)):
                total += len(chunk)
                if total > info.file_size:
                    raise ImageSizeMismatch(f"{info.filename} is longer than the {info.file_size} bytes it declares")
                digest.update(chunk)
                out.write(chunk)
                progress(total)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ArchiveError(f"{info.filename} is corrupt ({error})") from None
    if total != info.file_size:
        raise ImageSizeMismatch(f"{info.filename} gives {total} bytes; it declares {info.file_size}")
    return digest.hexdigest()
