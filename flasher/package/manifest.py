"""The signed description of a package: what it is for and the size and hash of every image.

The manifest travels as canonical JSON (sorted keys, no spaces, UTF-8) and its exact
bytes are what is signed. `parse_manifest` accepts only that form, so one manifest
has one byte string and one signature check; it checks every field against the
schema of docs/package-format.md and bounds every number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from .delta_manifest import MAX_OPS, MAX_WINDOWS, DeltaEntry, parse_delta
from .errors import ManifestError
from .untrusted_json import load_untrusted_json
from .schema import IDENTIFIER, MAX_IMAGE_SIZE, GiB, bounded_list, fields_of, identifier, integer, sha256, string

FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 1 << 20
MAX_IMAGES = 64
MAX_TOTAL_SIZE = 128 * GiB
# A rollback index is stored by the handset and only ever rises: a bound keeps a
# mistaken or hostile 2^63-1 from locking out every later real release.
MAX_ROLLBACK_INDEX = (1 << 32) - 1
MAX_BATTERY_MV = 5000
MAX_HW_REVISIONS = 32
PACKAGE_TYPES = ("full", "delta")
# How a handset takes the package: fastboot from the host (absent), or recovery's sideload, which
# checks the OEM signature itself (locked handsets). Absent rather than "fastboot", so older
# manifests keep their bytes and a manifest keeps exactly one form.
INSTALL_SIDELOAD = "sideload"
COMPRESSIONS = ("stored", "deflate")
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# GPT partition names hold at most 36 characters; lower case as on Android handsets.
PARTITION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,35}\Z")
# Images are extracted to files named after their partition; Windows refuses these names.
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)}

SUPER_EMPTY = "super_empty"
"""The image that is not a partition: super_empty.img, the layout of a phone's dynamic partitions."""
MAX_SUPER_EMPTY_SIZE = 4096 + (1 << 20)
"""Its geometry block and one metadata slot of at most 1 MiB (flasher/lp)."""

_FIELDS = {"format_version", "package_id", "product", "hw_revisions", "build", "rollback_index",
           "min_battery_mv", "type", "created", "images"}
_IMAGE_FIELDS = {"partition", "slotted", "size", "sha256", "compression"}


@dataclass(frozen=True)
class ImageEntry:
    """One raw image; a slotted one is written to the inactive slot (`boot` -> `boot_b`).

    In a delta package, `delta` says how the image is made from the source build's.
    """

    partition: str
    slotted: bool
    size: int
    sha256: str
    compression: str = "deflate"
    delta: DeltaEntry | None = None

    @property
    def archive_name(self) -> str | None:
        """The zip entry carrying this image: the image, its patches, or none for a copy."""
        method = self.delta.method if self.delta else "whole"
        return {"whole": f"images/{self.partition}.img", "patch": f"patches/{self.partition}.bsdiff"}.get(method)

    @property
    def archive_size(self) -> int:
        return self.delta.patch_size if self.delta and self.delta.method == "patch" else self.size

    def to_dict(self) -> dict:
        data = {"partition": self.partition, "slotted": self.slotted, "size": self.size, "sha256": self.sha256,
                "compression": self.compression}
        if self.delta:
            data["delta"] = self.delta.to_dict()
        return data


@dataclass(frozen=True)
class Manifest:
    package_id: str
    product: str
    hw_revisions: tuple[str, ...]
    build: str
    rollback_index: int | None
    """None where unsigned images do not state one."""
    min_battery_mv: int
    created: str
    images: tuple[ImageEntry, ...]
    type: str = "full"
    format_version: int = FORMAT_VERSION
    install: str = "fastboot"
    """"fastboot", or "sideload" for an OEM-signed package that recovery installs."""
    requirements: tuple = ()
    """What factory images require of the handset (android-info.txt); a signed package has none."""
    signed: bool = True
    """False for factory images, flashed on the user's word (package/factory.py)."""
    signer: str = ""
    """Who signed a vendor OTA, as its OEM certificate names them (payload/ota_images.py)."""
    super_groups: tuple = ()
    """A vendor OTA's dynamic partition groups (name, size, partitions): its logical images."""

    def image(self, partition: str) -> ImageEntry:
        for entry in self.images:
            if entry.partition == partition:
                return entry
        raise ManifestError(f"the manifest lists no image for partition {partition!r}",
                            "Choose a partition the package holds (tsuf package inspect).")

    @property
    def partition_images(self) -> tuple[ImageEntry, ...]:
        """The images written to partitions: all but super_empty.img."""
        return tuple(entry for entry in self.images if entry.partition != SUPER_EMPTY)

    @property
    def super_empty(self) -> ImageEntry | None:
        return next((entry for entry in self.images if entry.partition == SUPER_EMPTY), None)

    @property
    def source_build(self) -> str | None:
        """The build a delta package applies to; None for a full package."""
        return self.images[0].delta.source_build if self.type == "delta" else None

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.images)

    def to_dict(self) -> dict:
        return {
            "format_version": self.format_version, "package_id": self.package_id,
            "product": self.product, "hw_revisions": list(self.hw_revisions), "build": self.build,
            "rollback_index": self.rollback_index, "min_battery_mv": self.min_battery_mv,
            "type": self.type, "created": self.created,
            "images": [entry.to_dict() for entry in self.images],
        } | ({"install": self.install} if self.install != "fastboot" else {})

    def to_bytes(self) -> bytes:
        """The canonical bytes: checked against the schema first, so a builder cannot sign a bad manifest."""
        data = canonical_json(self.to_dict())
        parse_manifest(data)
        return data


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def utc_timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(CREATED_FORMAT)


def parse_manifest(data: bytes) -> Manifest:
    value = load_untrusted_json(data, what="manifest", max_bytes=MAX_MANIFEST_BYTES, error=ManifestError)
    if canonical_json(value) != data:
        raise ManifestError("manifest is not in canonical form (sorted keys, no spaces, UTF-8)")
    return _manifest_from(value)


def _manifest_from(value) -> Manifest:
    fields = fields_of(value, _FIELDS | ({"install"} if isinstance(value, dict) and "install" in value else set()),
                       "manifest")
    if integer(fields, "format_version", 0, 1 << 16) != FORMAT_VERSION:
        raise ManifestError(f"format_version {fields['format_version']} is not supported; this TSUF reads "
                            f"version {FORMAT_VERSION}", "Update TSUF to read this package.")
    package_type = string(fields, "type")
    if package_type not in PACKAGE_TYPES:
        raise ManifestError(f"package type {package_type!r} is not supported (only {', '.join(PACKAGE_TYPES)})")
    install = _install_from(fields, package_type)
    images = bounded_list(fields, "images", 1, MAX_IMAGES)
    entries = tuple(_image_from(item, package_type) for item in images)
    if package_type == "delta":
        _check_delta_package(entries)
    partitions = [entry.partition for entry in entries]
    if len(set(partitions)) != len(partitions):
        raise ManifestError(f"a partition is listed twice in {partitions}")
    if sum(entry.size for entry in entries) > MAX_TOTAL_SIZE:
        raise ManifestError(f"images add up to more than {MAX_TOTAL_SIZE} bytes")
    revisions = bounded_list(fields, "hw_revisions", 1, MAX_HW_REVISIONS)
    if not all(isinstance(r, str) and IDENTIFIER.match(r) for r in revisions) or len(set(revisions)) != len(revisions):
        raise ManifestError("hw_revisions must be distinct names of letters, digits and ._+-")
    created = string(fields, "created")
    try:
        datetime.strptime(created, CREATED_FORMAT)
    except ValueError:
        raise ManifestError(f"created {created!r} is not a UTC time like 2026-01-31T12:00:00Z") from None
    return Manifest(
        package_id=identifier(fields, "package_id"), product=identifier(fields, "product"),
        hw_revisions=tuple(revisions), build=identifier(fields, "build"),
        rollback_index=integer(fields, "rollback_index", 0, MAX_ROLLBACK_INDEX),
        min_battery_mv=integer(fields, "min_battery_mv", 0, MAX_BATTERY_MV),
        created=created, images=entries, type=package_type, install=install)


def _install_from(fields: dict, package_type: str) -> str:
    if "install" not in fields:
        return "fastboot"
    if fields["install"] != INSTALL_SIDELOAD:
        raise ManifestError(f"install {fields['install']!r} is not {INSTALL_SIDELOAD!r}; leave it out for fastboot")
    if package_type != "full":
        raise ManifestError("recovery installs full packages only: a sideload package cannot be a delta")
    return INSTALL_SIDELOAD


def _check_delta_package(entries: tuple[ImageEntry, ...]) -> None:
    if len({entry.delta.source_build for entry in entries}) != 1:
        raise ManifestError("a delta package applies to one source build; its images name several")
    if sum(len(entry.delta.windows) for entry in entries) > MAX_WINDOWS:
        raise ManifestError(f"a delta package holds at most {MAX_WINDOWS} patch windows")
    if sum(entry.delta.op_count for entry in entries) > MAX_OPS:
        raise ManifestError(f"a delta package holds at most {MAX_OPS} block operations")


def _image_from(value, package_type: str) -> ImageEntry:
    expected = _IMAGE_FIELDS | {"delta"} if package_type == "delta" else _IMAGE_FIELDS
    fields = fields_of(value, expected, "image")
    partition = string(fields, "partition")
    if not PARTITION_NAME.match(partition) or partition in _WINDOWS_RESERVED:
        raise ManifestError(f"bad partition name {partition!r}: 1 to 36 of a-z, 0-9, _ and -")
    if type(fields["slotted"]) is not bool:
        raise ManifestError(f"image {partition}: slotted must be true or false")
    digest = sha256(fields, "sha256", f"image {partition}")
    compression = string(fields, "compression")
    if compression not in COMPRESSIONS:
        raise ManifestError(f"image {partition}: compression {compression!r} is not one of {COMPRESSIONS}")
    size = integer(fields, "size", 1, MAX_IMAGE_SIZE)
    if partition == SUPER_EMPTY and (fields["slotted"] or size > MAX_SUPER_EMPTY_SIZE):
        raise ManifestError(f"{SUPER_EMPTY}.img must be unslotted and at most {MAX_SUPER_EMPTY_SIZE} bytes")
    delta = parse_delta(fields["delta"], partition, size, digest) if package_type == "delta" else None
    # Patches are bz2 already and copies carry nothing: only a whole image is worth deflating.
    if delta and delta.method != "whole" and compression != "stored":
        raise ManifestError(f"image {partition}: a {delta.method} entry is stored, not {compression}")
    return ImageEntry(partition=partition, slotted=fields["slotted"], size=size, sha256=digest,
                      compression=compression, delta=delta)
