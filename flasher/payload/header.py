"""payload.bin's header: "CrAU", major version (u64), manifest size (u64), metadata signature size (u32),
all big-endian."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import MalformedPayload, NotAPayload, TruncatedPayload

MAGIC = b"CrAU"
MAJOR_VERSION = 2
HEADER = struct.Struct(">4sQQI")
MAX_MANIFEST = 16 << 20
MAX_METADATA_SIGNATURE = 64 << 10


@dataclass(frozen=True)
class Header:
    manifest_size: int
    metadata_signature_size: int

    @property
    def metadata_size(self) -> int:
        """Header and manifest: what METADATA_HASH and the metadata signature cover."""
        return HEADER.size + self.manifest_size

    @property
    def data_start(self) -> int:
        """Where the data blobs begin; operations' data_offset counts from here."""
        return self.metadata_size + self.metadata_signature_size


def parse_header(data: bytes, payload_size: int) -> Header:
    if len(data) < HEADER.size:
        raise TruncatedPayload(f"the payload is {len(data)} bytes, shorter than its {HEADER.size}-byte header")
    magic, major, manifest_size, signature_size = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise NotAPayload("not a payload.bin (no CrAU magic)")
    if major != MAJOR_VERSION:
        raise MalformedPayload(f"payload major version {major}; TSUF reads version {MAJOR_VERSION} (Android 8 and "
                               "later)")
    if manifest_size > MAX_MANIFEST:
        raise MalformedPayload(f"the header claims a manifest of {manifest_size} bytes, more than "
                               f"{MAX_MANIFEST >> 20} MiB")
    if signature_size > MAX_METADATA_SIGNATURE:
        raise MalformedPayload(f"the header claims a metadata signature of {signature_size} bytes, more than "
                               f"{MAX_METADATA_SIGNATURE >> 10} KiB")
    header = Header(manifest_size, signature_size)
    if header.data_start > payload_size:
        raise TruncatedPayload(f"the payload is {payload_size} bytes; its header says the manifest and metadata "
                               f"signature alone take {header.data_start}")
    return header
