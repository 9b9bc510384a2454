"""Building full packages from a folder of images or an Android update zip.

Images are copied into the package while they are hashed, so the manifest describes
exactly the bytes written. Sparse images are expanded first: packages hold raw
images. The zip is written next to the output and renamed over it only when complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..lp.image import read_super_empty
from ..sparse import SparseFormatError, expand, is_sparse
from .android_info import parse_android_info, products as products_of
from .archive import CHUNK, COMPRESSION_METHODS, MANIFEST_NAME, check_entry_name
from .bootmeta import make_boot_metadata
from .errors import BuildError
from .keys import SigningKey
from .untrusted_json import load_untrusted_json
from .manifest import (
    INSTALL_SIDELOAD, MAX_IMAGES, MAX_SUPER_EMPTY_SIZE, PARTITION_NAME, SUPER_EMPTY, ImageEntry, Manifest,
    utc_timestamp,
)

ANDROID_INFO = "android-info.txt"
MAX_DESCRIPTION_BYTES = 64 * 1024
BOOT_METADATA_PARTITION = "vbmeta"
# Fixed entry times keep two builds of the same inputs byte-identical but for `created`.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DESCRIPTION_FIELDS = {"product", "hw_revisions", "build", "rollback_index", "min_battery_mv", "unslotted",
                       "package_id"}
_REQUIRED_FIELDS = {"hw_revisions", "build", "rollback_index"}
INSTALL_METHODS = ("fastboot", INSTALL_SIDELOAD)


@dataclass(frozen=True)
class PackageDescription:
    """What the images are for; product may come from android-info.txt instead."""

    hw_revisions: tuple[str, ...]
    build: str
    rollback_index: int
    product: str | None = None
    min_battery_mv: int = 0
    unslotted: frozenset[str] = field(default_factory=frozenset)
    package_id: str | None = None


def load_description(path: Path) -> PackageDescription:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_DESCRIPTION_BYTES + 1)
    except OSError as error:
        raise BuildError(f"{path}: cannot read the description ({error.strerror})") from None
    value = load_untrusted_json(data, what=f"{path}: the description", max_bytes=MAX_DESCRIPTION_BYTES,
                                error=BuildError)
    if not isinstance(value, dict):
        raise BuildError(f"{path}: the description must be a JSON object")
    if missing := _REQUIRED_FIELDS - value.keys():
        raise BuildError(f"{path}: the description lacks {', '.join(sorted(missing))}")
    if extra := value.keys() - _DESCRIPTION_FIELDS:
        raise BuildError(f"{path}: unknown fields {', '.join(sorted(extra))}")
    unslotted = value.get("unslotted", [])
    if not isinstance(value["hw_revisions"], list) or not (
            isinstance(unslotted, list) and all(isinstance(name, str) for name in unslotted)):
        raise BuildError(f"{path}: hw_revisions must be a list, unslotted a list of partition names")
    return PackageDescription(
        hw_revisions=tuple(value["hw_revisions"]), build=value["build"], rollback_index=value["rollback_index"],
        product=value.get("product"), min_battery_mv=value.get("min_battery_mv", 0),
        unslotted=frozenset(unslotted), package_id=value.get("package_id"))


def build_package(source: Path, description: PackageDescription, signing_keys: Sequence[SigningKey],
                  output: Path, *, oem_key: SigningKey | None = None, created: datetime | None = None,
                  compression: str = "deflate", install: str = "fastboot") -> Manifest:
    """Build and sign a package from a folder of <partition>.img files or an Android update zip.

    `install="sideload"` makes a package for recovery to install (locked handsets); sign it
    with the handsets' OEM key, which is what their recovery checks."""
    if not signing_keys:
        raise BuildError("no signing key given", "Give at least one --key PRIVATE.pem.")
    if compression not in COMPRESSION_METHODS:
        raise BuildError(f"compression {compression!r} is not one of {', '.join(COMPRESSION_METHODS)}")
    if install not in INSTALL_METHODS:
        raise BuildError(f"install {install!r} is not one of {', '.join(INSTALL_METHODS)}")
    source, output = Path(source), Path(output)
    with tempfile.TemporaryDirectory(prefix=".tsuf-build-", dir=output.parent) as staging:
        if source.is_dir():
            product, images = description.product, folder_images(source)
        else:
            product, images = _update_zip_images(source, description, Path(staging))
        if not product:
            raise BuildError("the description names no product", "Add \"product\" to the description file.")
        if oem_key and BOOT_METADATA_PARTITION in images:
            raise BuildError(f"the images include {BOOT_METADATA_PARTITION}.img and --oem-key would make another")
        if not 1 <= len(images) + bool(oem_key) <= MAX_IMAGES:
            raise BuildError(f"a package holds 1 to {MAX_IMAGES} images; {source} has {len(images)}")
        return _write_package(output, product, description, images, signing_keys, oem_key, Path(staging),
                              created, compression, install)


def folder_images(folder: Path) -> dict[str, Path]:
    images = {}
    for path in sorted(folder.glob("*.img")):
        if not PARTITION_NAME.match(path.stem) or not path.is_file():
            raise BuildError(f"{path.name}: not <partition>.img with a partition name of a-z, 0-9, _ and -")
        images[path.stem] = path
    return images


def _update_zip_images(source: Path, description: PackageDescription, staging: Path) -> tuple[str, dict]:
    """Copy the top-level images of an update zip out and find the product it is for."""
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as error:
        raise BuildError(f"{source}: neither a folder of images nor a zip ({error})") from None
    images, products = {}, ()
    with archive:
        for info in archive.infolist():
            check_entry_name(info.filename)
            if info.filename == ANDROID_INFO:
                if info.file_size > MAX_DESCRIPTION_BYTES:
                    raise BuildError(f"{source}: {ANDROID_INFO} is larger than {MAX_DESCRIPTION_BYTES} bytes")
                products = products_of(parse_android_info(archive.read(info).decode("utf-8", "replace")))
            elif "/" not in info.filename and info.filename.endswith(".img"):
                partition = info.filename[:-len(".img")]
                if not PARTITION_NAME.match(partition):
                    raise BuildError(f"{source}: {info.filename} is not named after a partition")
                images[partition] = staging / f"zip-{info.filename}"
                with archive.open(info) as entry, open(images[partition], "wb") as copy:
                    shutil.copyfileobj(entry, copy, CHUNK)
    if not products:
        raise BuildError(f"{source}: no {ANDROID_INFO} with a `require board=` or `require product=` line")
    product = description.product or (products[0] if len(products) == 1 else None)
    if product not in products:
        raise BuildError(f"{source} is for {' or '.join(products)}; the description says {description.product}",
                         "Name one of the update zip's products in the description's \"product\".")
    return product, images


def _write_package(output: Path, product: str, description: PackageDescription, images: dict[str, Path],
                   signing_keys: Sequence[SigningKey], oem_key: SigningKey | None, staging: Path,
                   created: datetime | None, compression: str, install: str) -> Manifest:
    with package_writer(output) as package:
        if SUPER_EMPTY in images:  # refused here rather than on a handset
            with open(images[SUPER_EMPTY], "rb") as layout:
                read_super_empty(layout.read(MAX_SUPER_EMPTY_SIZE + 1))
        entries = [add_image(package, partition, raw_image(path, staging),
                             partition not in description.unslotted and partition != SUPER_EMPTY, compression)
                   for partition, path in sorted(images.items())]
        if oem_key:
            entries.append(_add_boot_metadata(package, entries, description, oem_key, staging, compression))
        manifest = Manifest(
            package_id=description.package_id or f"{product}-{description.build}", product=product,
            hw_revisions=description.hw_revisions, build=description.build,
            rollback_index=description.rollback_index, min_battery_mv=description.min_battery_mv,
            created=utc_timestamp(created), images=tuple(entries), install=install)
        sign_into(package, manifest, signing_keys)
    return manifest


@contextmanager
def package_writer(output: Path) -> Iterator[zipfile.ZipFile]:
    """A zip written beside `output`, fsynced and renamed over it only when the block completes."""
    fd, temporary = tempfile.mkstemp(prefix=".tsuf-package-", suffix=".zip", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            with zipfile.ZipFile(file, "w") as package:
                yield package
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sign_into(package: zipfile.ZipFile, manifest: Manifest, signing_keys: Sequence[SigningKey]) -> None:
    """Add the manifest (checked against the schema) and one signature per key."""
    manifest_bytes = manifest.to_bytes()
    package.writestr(zipfile.ZipInfo(MANIFEST_NAME, ZIP_TIME), manifest_bytes, zipfile.ZIP_DEFLATED)
    for key in signing_keys:
        package.writestr(zipfile.ZipInfo(f"signatures/{key.key_id}.sig", ZIP_TIME),
                         key.sign(manifest_bytes), zipfile.ZIP_STORED)


def raw_image(path: Path, staging: Path) -> Path:
    """The image as raw bytes: sparse images are expanded into the staging folder."""
    with open(path, "rb") as image:
        if not is_sparse(image.read(4)):
            return path
        image.seek(0)
        raw = staging / f"raw-{path.name}"
        try:
            with open(raw, "wb") as out:
                expand(image, out)
        except SparseFormatError as error:
            raise BuildError(f"{path}: broken sparse image ({error})") from None
        return raw


def add_image(package: zipfile.ZipFile, partition: str, path: Path, slotted: bool, compression: str) -> ImageEntry:
    size = path.stat().st_size
    if size == 0:
        raise BuildError(f"{path}: the image is empty")
    info = zipfile.ZipInfo(f"images/{partition}.img", ZIP_TIME)
    info.compress_type = COMPRESSION_METHODS[compression]
    # Declaring the size up front lets zipfile pick ZIP64 for images over 2 GiB.
    info.file_size = size
    digest, copied = hashlib.sha256(), 0
    with open(path, "rb") as image, package.open(info, "w") as entry:
        while chunk := image.read(CHUNK):
            digest.update(chunk)
            entry.write(chunk)
            copied += len(chunk)
    if copied != size:
        raise BuildError(f"{path} changed while it was being packaged")
    return ImageEntry(partition, slotted, size, digest.hexdigest(), compression)


def _add_boot_metadata(package: zipfile.ZipFile, entries: list[ImageEntry], description: PackageDescription,
                       oem_key: SigningKey, staging: Path, compression: str) -> ImageEntry:
    # Boot metadata covers one slot: the slotted images only.
    slot_images = {entry.partition: (entry.size, entry.sha256) for entry in entries if entry.slotted}
    metadata = make_boot_metadata(slot_images, description.rollback_index, oem_key, description.build)
    path = staging / f"{BOOT_METADATA_PARTITION}.img"
    path.write_bytes(metadata)
    return add_image(package, BOOT_METADATA_PARTITION, path, BOOT_METADATA_PARTITION not in description.unslotted,
                      compression)

