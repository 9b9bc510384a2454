"""The catalog's schema: a signed list of packages (and, from format 2, vendor OTAs), with a version
and an expiry.

The catalog file is canonical JSON (as a package manifest is), so one catalog has one
byte string: `{"signatures": {KEY_ID: HEX}, "signed": {...}}`. Each signature is made
over the canonical bytes of `signed`, with the same keys and algorithms as manifests.
`decode` checks only the envelope; `parse_catalog` checks the signed part against the
schema of docs/catalog.md and is called only once the signature was trusted. Its entries
are checked in entries.py.

A catalog is written in format 1 unless it lists a vendor OTA (`format_for`), so stations
that read only format 1 keep reading every catalog that offers them nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from ..package.archive import MAX_SIGNATURE_BYTES, MAX_SIGNATURES
from ..package.errors import ManifestError
from ..package.keys import SigningKey
from ..package.manifest import CREATED_FORMAT, canonical_json
from ..package.schema import bounded_list, fields_of, integer, string
from ..package.summary import VENDOR_OTA
from ..package.trust import KEY_ID
from ..package.untrusted_json import load_untrusted_json
from .entries import CatalogEntry, entry_from
from .errors import CatalogFormatError

FORMAT_VERSIONS = (1, 2)  # 2: entries may be vendor OTAs
MAX_CATALOG_BYTES = 8 << 20
MAX_PACKAGES = 10_000
# Like the rollback index: a bound keeps a mistaken 2^63-1 from locking out every later catalog.
MAX_VERSION = (1 << 32) - 1

_FIELDS = {"format_version", "version", "expires", "packages"}


@dataclass(frozen=True)
class Catalog:
    version: int
    expires: str
    packages: tuple[CatalogEntry, ...]
    format_version: int = 1

    @property
    def expires_at(self) -> datetime:
        return datetime.strptime(self.expires, CREATED_FORMAT).replace(tzinfo=timezone.utc)

    def to_dict(self) -> dict:
        return {"format_version": self.format_version, "version": self.version, "expires": self.expires,
                "packages": [entry.to_dict() for entry in self.packages]}


def format_for(entries: Sequence[CatalogEntry]) -> int:
    """The oldest format that can list `entries`: 2 only when one is a vendor OTA."""
    return 2 if any(entry.kind == VENDOR_OTA for entry in entries) else 1


@dataclass(frozen=True)
class SignedCatalog:
    """A catalog file taken apart, not yet trusted: the bytes that were signed and the signatures."""

    signed_bytes: bytes
    signatures: dict[str, bytes]


def encode(catalog: Catalog, signing_keys: Sequence[SigningKey]) -> bytes:
    """The catalog file's bytes; the catalog is checked against the schema first, so a bad one is never signed."""
    signed = catalog.to_dict()
    signed_bytes = canonical_json(signed)
    parse_catalog(signed_bytes)
    signatures = {key.key_id: key.sign(signed_bytes).hex() for key in signing_keys}
    return canonical_json({"signatures": signatures, "signed": signed})


def decode(data: bytes) -> SignedCatalog:
    """Take the envelope apart: canonical JSON, bounded, signatures well-formed. Trusts nothing."""
    value = load_untrusted_json(data, what="the catalog", max_bytes=MAX_CATALOG_BYTES, error=CatalogFormatError)
    if canonical_json(value) != data:
        raise CatalogFormatError("the catalog is not in canonical form (sorted keys, no spaces, UTF-8)")
    with _schema_errors():
        fields = fields_of(value, {"signatures", "signed"}, "catalog")
    signatures = fields["signatures"]
    if not isinstance(signatures, dict) or len(signatures) > MAX_SIGNATURES:
        raise CatalogFormatError(f"signatures must be an object of at most {MAX_SIGNATURES} key ids")
    decoded = {}
    for key_id, text in signatures.items():
        if not KEY_ID.match(key_id) or not isinstance(text, str) or len(text) > 2 * MAX_SIGNATURE_BYTES:
            raise CatalogFormatError(f"signature {key_id!r}: a key id maps to at most "
                                     f"{MAX_SIGNATURE_BYTES} bytes in hex")
        try:
            decoded[key_id] = bytes.fromhex(text)
        except ValueError:
            raise CatalogFormatError(f"signature {key_id}: not hex") from None
    return SignedCatalog(canonical_json(fields["signed"]), decoded)


def parse_catalog(signed_bytes: bytes) -> Catalog:
    """The signed part, checked field by field; call it only on bytes whose signature was trusted."""
    with _schema_errors():
        signed = load_untrusted_json(signed_bytes, what="the catalog", max_bytes=MAX_CATALOG_BYTES,
                                     error=CatalogFormatError)
        fields = fields_of(signed, _FIELDS, "catalog")
        format_version = integer(fields, "format_version", 0, 1 << 16)
        if format_version not in FORMAT_VERSIONS:
            raise CatalogFormatError(f"catalog format_version {format_version} is not supported; this TSUF reads "
                                     f"versions {' and '.join(map(str, FORMAT_VERSIONS))}",
                                     "Update TSUF to read this catalog.")
        expires = string(fields, "expires")
        try:
            datetime.strptime(expires, CREATED_FORMAT)
        except ValueError:
            raise CatalogFormatError(f"expires {expires!r} is not a UTC time like 2026-01-31T12:00:00Z") from None
        packages = tuple(entry_from(item, format_version)
                         for item in bounded_list(fields, "packages", 0, MAX_PACKAGES))
        return Catalog(version=integer(fields, "version", 1, MAX_VERSION), expires=expires, packages=packages,
                       format_version=format_version)


@contextmanager
def _schema_errors() -> Iterator[None]:
    """The schema checkers are the manifest's; their errors are the catalog's here."""
    try:
        yield
    except ManifestError as error:
        raise CatalogFormatError(f"catalog: {error}") from None

