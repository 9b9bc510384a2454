"""Boot metadata: the signed list of a slot's images that the handset checks at boot (like AVB's vbmeta).

Layout (big-endian), at most 64 KiB so it fits a vbmeta partition:

    0   8  magic b"TSUFBOOT"
    8   1  version (1)
    9   1  algorithm (1 Ed25519, 2 ECDSA P-256)
    10  2  reserved, zero
    12  4  body length B
    16  B  body: canonical JSON {"build": "B130", "images": [{"partition", "sha256", "size"}...],
           "rollback_index": N}
    +0  2  signature length S
    +2  S  signature over bytes 0 to 16+B (header and body), as keys.SigningKey.sign makes it

Whatever follows is ignored, as AVB ignores the rest of a vbmeta partition: a
shorter new image written over a longer old one leaves old bytes behind. The
signature is checked before the body is parsed.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from . import keys
from .errors import BootMetadataError
from .manifest import MAX_IMAGE_SIZE, MAX_IMAGES, MAX_ROLLBACK_INDEX, PARTITION_NAME, canonical_json

MAGIC = b"TSUFBOOT"
VERSION = 1
MAX_SIZE = 64 * 1024
MAX_SIGNATURE = 128
_HEADER = struct.Struct(">8sBBHI")
_SIGNATURE_LENGTH = struct.Struct(">H")
_ALGORITHM_CODES = {keys.ED25519: 1, keys.ECDSA_P256: 2}
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class BootImage:
    partition: str
    size: int
    sha256: str


@dataclass(frozen=True)
class BootMetadata:
    rollback_index: int
    images: tuple[BootImage, ...]
    build: str = ""

    def image(self, partition: str) -> BootImage | None:
        return next((image for image in self.images if image.partition == partition), None)


def make_boot_metadata(partitions: Mapping[str, tuple[int, str]], rollback_index: int,
                       oem_private_key: keys.SigningKey, build: str = "") -> bytes:
    """partitions maps a bare partition name to (size, sha256 hex) of its image; `build` is
    what the handset reports as its running build once the slot boots."""
    images = tuple(BootImage(name, size, sha256) for name, (size, sha256) in sorted(partitions.items()))
    _check(BootMetadata(rollback_index, images, build))
    body = canonical_json({"build": build, "images": [{"partition": i.partition, "sha256": i.sha256,
                                                       "size": i.size} for i in images],
                           "rollback_index": rollback_index})
    signed = _HEADER.pack(MAGIC, VERSION, _ALGORITHM_CODES[oem_private_key.algorithm], 0, len(body)) + body
    signature = oem_private_key.sign(signed)
    data = signed + _SIGNATURE_LENGTH.pack(len(signature)) + signature
    if len(data) > MAX_SIZE:
        raise BootMetadataError(f"boot metadata is {len(data)} bytes; a vbmeta partition holds {MAX_SIZE}")
    return data


def parse_and_verify_boot_metadata(data: bytes, oem_public_key: keys.PublicKey) -> BootMetadata:
    algorithm, signed, signature = _unpack(data)
    if algorithm != _ALGORITHM_CODES[keys.algorithm_of(oem_public_key)]:
        raise BootMetadataError("boot metadata is signed with another algorithm than the OEM key's")
    if not keys.verify_signature(oem_public_key, signature, signed):
        raise BootMetadataError("boot metadata signature does not verify with the OEM key")
    return _body(signed)


def read_unverified_boot_metadata(data: bytes) -> BootMetadata:
    """What the metadata says, its signature unchecked: only ever to name the build that
    images claim to be, which the handset's own check then confirms or refuses at boot."""
    return _body(_unpack(data)[1])


def _unpack(data: bytes) -> tuple[int, bytes, bytes]:
    """The algorithm code, the signed bytes and the signature, bounded within the data."""
    if len(data) < _HEADER.size:
        raise BootMetadataError("boot metadata is shorter than its header")
    magic, version, algorithm, reserved, body_length = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or reserved:
        raise BootMetadataError("no TSUF boot metadata (bad magic or version)")
    signed_end = _HEADER.size + body_length
    if signed_end + _SIGNATURE_LENGTH.size > min(len(data), MAX_SIZE):
        raise BootMetadataError("boot metadata body runs past its end")
    (signature_length,) = _SIGNATURE_LENGTH.unpack_from(data, signed_end)
    end = signed_end + _SIGNATURE_LENGTH.size + signature_length
    if signature_length > MAX_SIGNATURE or end > min(len(data), MAX_SIZE):
        raise BootMetadataError("boot metadata signature runs past its end")
    return algorithm, data[:signed_end], data[end - signature_length:end]


def _body(signed: bytes) -> BootMetadata:
    try:
        body = json.loads(signed[_HEADER.size:].decode("utf-8"))
        metadata = BootMetadata(body["rollback_index"], tuple(
            BootImage(image["partition"], image["size"], image["sha256"]) for image in body["images"]),
            body.get("build", ""))
    except (ValueError, KeyError, TypeError) as error:
        raise BootMetadataError(f"boot metadata body is malformed ({error})") from None
    _check(metadata)
    return metadata


def _check(metadata: BootMetadata) -> None:
    if not isinstance(metadata.build, str) or len(metadata.build) > 128:
        raise BootMetadataError("boot metadata build must be a string of at most 128 characters")
    if type(metadata.rollback_index) is not int or not 0 <= metadata.rollback_index <= MAX_ROLLBACK_INDEX:
        raise BootMetadataError(f"rollback index must be from 0 to {MAX_ROLLBACK_INDEX}")
    if not 1 <= len(metadata.images) <= MAX_IMAGES:
        raise BootMetadataError(f"boot metadata must list 1 to {MAX_IMAGES} images")
    names = [image.partition for image in metadata.images]
    if len(set(names)) != len(names):
        raise BootMetadataError("a partition is listed twice in the boot metadata")
    for image in metadata.images:
        if not (isinstance(image.partition, str) and PARTITION_NAME.match(image.partition)
                and type(image.size) is int and 1 <= image.size <= MAX_IMAGE_SIZE
                and isinstance(image.sha256, str) and _SHA256.match(image.sha256)):
            raise BootMetadataError(f"boot metadata has a malformed image entry {image!r}")
