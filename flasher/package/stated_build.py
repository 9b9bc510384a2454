"""The build and rollback index that unsigned images state about themselves, read from their
vbmeta image: an AVB vbmeta (`AVB0`: the rollback index in its header, the fingerprint in a
`com.android.build.*.fingerprint` property) or TSUF boot metadata.

Nothing here is trusted: it names the build an update expects to see running, and the
handset's verified boot and the build it then reports decide. Sizes are bounded before use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import FlasherError
from .bootmeta import MAGIC as BOOT_METADATA_MAGIC, read_unverified_boot_metadata

AVB_MAGIC = b"AVB0"
AVB_HEADER = struct.Struct(">4sII QQ I QQ QQ QQ QQ QQ Q")
"""magic, libavb version, block sizes, algorithm, hash, signature, key, key metadata,
descriptor offsets and sizes, rollback index: the first 120 bytes of the 256-byte header."""
AVB_HEADER_SIZE = 256
MAX_VBMETA = 64 * 1024
PROPERTY_TAG = 0
_DESCRIPTOR = struct.Struct(">QQ")
_PROPERTY = struct.Struct(">QQ")
FINGERPRINT_KEYS = ("com.android.build.system.fingerprint", "com.android.build.vendor.fingerprint",
                    "com.android.build.boot.fingerprint")
MAX_BUILD = 128


@dataclass(frozen=True)
class StatedBuild:
    build: str
    """`ro.build.version.incremental` of the images ("" where they do not say)."""
    rollback_index: int | None
    fingerprint: str = ""


NOTHING_STATED = StatedBuild("", None)


def stated_build(vbmeta: bytes) -> StatedBuild:
    """What a vbmeta image says of its build; NOTHING_STATED for anything else or anything broken."""
    data = vbmeta[:MAX_VBMETA]
    if data.startswith(BOOT_METADATA_MAGIC):
        try:
            metadata = read_unverified_boot_metadata(data)
        except FlasherError:
            return NOTHING_STATED
        return StatedBuild(metadata.build, metadata.rollback_index)
    if data.startswith(AVB_MAGIC) and len(data) >= AVB_HEADER_SIZE:
        return _avb(data)
    return NOTHING_STATED


def incremental_of(fingerprint: str) -> str:
    """`brand/product/device:release/id/incremental:type/tags` -> incremental ("" if not that shape)."""
    parts = fingerprint.split("/")
    return parts[4].split(":")[0][:MAX_BUILD] if len(parts) == 6 else ""


def _avb(data: bytes) -> StatedBuild:
    fields = AVB_HEADER.unpack_from(data)
    authentication_size, auxiliary_size = fields[3], fields[4]
    descriptors_offset, descriptors_size, rollback_index = fields[14], fields[15], fields[16]
    start = AVB_HEADER_SIZE + authentication_size + descriptors_offset
    end = start + descriptors_size
    if descriptors_offset + descriptors_size > auxiliary_size or end > len(data):
        return StatedBuild("", rollback_index)
    fingerprint = ""
    properties = dict(_properties(data, start, end))
    for key in FINGERPRINT_KEYS:
        if properties.get(key):
            fingerprint = properties[key]
            break
    return StatedBuild(incremental_of(fingerprint), rollback_index, fingerprint)


def _properties(data: bytes, position: int, end: int):
    while position + _DESCRIPTOR.size <= end:
        tag, following = _DESCRIPTOR.unpack_from(data, position)
        body = position + _DESCRIPTOR.size
        if following % 8 or body + following > end:
            return
        if tag == PROPERTY_TAG and following >= _PROPERTY.size:
            key_size, value_size = _PROPERTY.unpack_from(data, body)
            key_start = body + _PROPERTY.size
            value_start = key_start + key_size + 1
            if value_start + value_size <= body + following:
                key = data[key_start:key_start + key_size].decode("utf-8", "replace")
                value = data[value_start:value_start + value_size].decode("utf-8", "replace")
                yield key, value[:512]
        position = body + following
