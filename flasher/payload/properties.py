"""payload_properties.txt: the sizes and base64 SHA-256 hashes update_engine is told to expect."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .errors import MissingProperties

REQUIRED = ("FILE_HASH", "FILE_SIZE", "METADATA_HASH", "METADATA_SIZE")


@dataclass(frozen=True)
class PayloadProperties:
    file_sha256: bytes
    file_size: int
    metadata_sha256: bytes
    metadata_size: int


def parse_properties(data: bytes | None, source: str) -> PayloadProperties:
    if data is None:
        raise MissingProperties(f"{source} has no payload_properties.txt")
    values = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    if missing := [key for key in REQUIRED if key not in values]:
        raise MissingProperties(f"{source}: payload_properties.txt lacks {', '.join(missing)}")
    try:
        file_hash, metadata_hash = (base64.b64decode(values[key], validate=True) for key in ("FILE_HASH",
                                                                                             "METADATA_HASH"))
        file_size, metadata_size = int(values["FILE_SIZE"]), int(values["METADATA_SIZE"])
    except (binascii.Error, ValueError):
        raise MissingProperties(f"{source}: payload_properties.txt has a value that is not a number or "
                                "base64") from None
    if len(file_hash) != 32 or len(metadata_hash) != 32 or file_size < 0 or metadata_size < 0:
        raise MissingProperties(f"{source}: payload_properties.txt's hashes are not SHA-256 or its sizes negative")
    return PayloadProperties(file_hash, file_size, metadata_hash, metadata_size)
