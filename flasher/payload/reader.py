"""A payload opened: its header, manifest and signatures read with bounds, nothing else read yet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .container import OTACERT_NAME, PROPERTIES_NAME, PayloadFile, open_payload, read_properties_file
from .errors import MalformedPayload
from .header import HEADER, Header, parse_header
from .manifest import Manifest, parse_manifest
from .properties import PayloadProperties, parse_properties
from .signatures import MAX_SIGNATURES_BLOB, parse_signatures


@dataclass(frozen=True)
class Payload:
    file: PayloadFile
    header: Header
    manifest: Manifest
    metadata: bytes
    metadata_signatures: tuple[bytes, ...]
    payload_signatures: tuple[bytes, ...]

    @property
    def data_size(self) -> int:
        return self.file.size - self.header.data_start

    @property
    def signed_size(self) -> int:
        """Bytes of the payload its signature covers: up to the signatures blob (or the end if unsigned)."""
        offset = self.manifest.signatures_offset
        return self.file.size if offset is None else self.header.data_start + offset

    def blob(self, offset: int, length: int, what: str):
        """An operation's data, streamed; offsets count from the start of the data blobs."""
        return self.file.chunks(self.header.data_start + offset, length, what)

    def properties(self, path: Path | None = None) -> PayloadProperties:
        """payload_properties.txt from `path`, else from beside payload.bin in the OTA zip."""
        data = read_properties_file(path) if path else self.file.member(PROPERTIES_NAME)
        return parse_properties(data, str(path or self.file.path))

    def otacert(self) -> bytes | None:
        return self.file.member(OTACERT_NAME)


def read_payload(path: Path) -> Payload:
    file = open_payload(path)
    header = parse_header(file.read(0, min(HEADER.size, file.size), "the header"), file.size)
    metadata = file.read(0, header.metadata_size, "the manifest")
    manifest = parse_manifest(metadata[HEADER.size:], file.size - header.data_start)
    metadata_signatures = parse_signatures(
        file.read(header.metadata_size, header.metadata_signature_size, "the metadata signature"),
        "the metadata signature")
    payload_signatures: tuple[bytes, ...] = ()
    if manifest.signatures_offset is not None:
        if manifest.signatures_size > MAX_SIGNATURES_BLOB:
            raise MalformedPayload(f"the payload signatures claim {manifest.signatures_size} bytes, more than "
                                   f"{MAX_SIGNATURES_BLOB >> 10} KiB")
        payload_signatures = parse_signatures(
            file.read(header.data_start + manifest.signatures_offset, manifest.signatures_size,
                      "the payload signatures"), "the payload signatures")
    return Payload(file, header, manifest, metadata, metadata_signatures, payload_signatures)
