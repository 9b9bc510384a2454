"""The catalog's schema: a signed list of packages, with a version and an expiry.

The catalog file is canonical JSON (as a package manifest is), so one catalog has one
byte string: `{"signatures": {KEY_ID: HEX}, "signed": {...}}`. Each signature is made
over the canonical bytes of `signed`, with the same keys and algorithms as manifests.
`decode` checks only the envelope; `parse_catalog` checks the signed part against the
schema of docs/catalog.md and is called only once the signature was trusted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from ..package.archive import MAX_PACKAGE_BYTES, MAX_SIGNATURE_BYTES, MAX_SIGNATURES
from ..package.errors import ManifestError
from ..package.keys import SigningKey
from ..package.manifest import (CREATED_FORMAT, INSTALL_SIDELOAD, MAX_ROLLBACK_INDEX, PACKAGE_TYPES,
                                canonical_json)
from ..package.summary import PackageSummary
from ..package.schema import IDENTIFIER, bounded_list, fields_of, identifier, integer, sha256, string
from ..package.trust import KEY_ID
from ..package.untrusted_json import load_untrusted_json
from .errors import CatalogFormatError

FORMAT_VERSION = 1
MAX_CATALOG_BYTES = 8 << 20
MAX_PACKAGES = 10_000
MAX_HW_REVISIONS = 32
MAX_URL = 2048
# Like the rollback index: a bound keeps a mistaken 2^63-1 from locking out every later catalog.
MAX_VERSION = (1 << 32) - 1

_FIELDS = {"format_version", "version", "expires", "packages"}
_ENTRY_FIELDS = {"package_id", "product", "hw_revisions", "build", "rollback_index", "type", "size", "sha256", "url"}


@dataclass(frozen=True, kw_only=True)
class CatalogEntry(PackageSummary):
    """One package as the catalog describes it; `url` is absolute or relative to the catalog."""

    size: int
    sha256: str
    url: str

    def to_dict(self) -> dict:
        data = {"package_id": self.package_id, "product": self.product, "hw_revisions": list(self.hw_revisions),
                "build": self.build, "rollback_index": self.rollback_index, "type": self.type,
                "size": self.size, "sha256": self.sha256, "url": self.url}
        if self.source_build is not None:
            data["source_build"] = self.source_build
        if self.install != "fastboot":  # absent means fastboot, as in a manifest
            data["install"] = self.install
        return data


@dataclass(frozen=True)
class Catalog:
    version: int
    expires: str
    packages: tuple[CatalogEntry, ...]
    format_version: int = FORMAT_VERSION

    @property
    def expires_at(self) -> datetime:
        return datetime.strptime(self.expires, CREATED_FORMAT).replace(tzinfo=timezone.utc)

    def to_dict(self) -> dict:
        return {"format_version": self.format_version, "version": self.version, "expires": self.expires,
                "packages": [entry.to_dict() for entry in self.packages]}


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
        if integer(fields, "format_version", 0, 1 << 16) != FORMAT_VERSION:
            raise CatalogFormatError(f"catalog format_version {fields['format_version']} is not supported; "
                                     f"this TSUF reads version {FORMAT_VERSION}", "Update TSUF to read this catalog.")
        expires = string(fields, "expires")
        try:
            datetime.strptime(expires, CREATED_FORMAT)
        except ValueError:
            raise CatalogFormatError(f"expires {expires!r} is not a UTC time like 2026-01-31T12:00:00Z") from None
        packages = tuple(_entry_from(item) for item in bounded_list(fields, "packages", 0, MAX_PACKAGES))
        return Catalog(version=integer(fields, "version", 1, MAX_VERSION), expires=expires, packages=packages)


@contextmanager
def _schema_errors() -> Iterator[None]:
    """The schema checkers are the manifest's; their errors are the catalog's here."""
    try:
        yield
    except ManifestError as error:
        raise CatalogFormatError(f"catalog: {error}") from None


def _entry_from(value) -> CatalogEntry:
    package_type = value.get("type") if isinstance(value, dict) else None
    if package_type not in PACKAGE_TYPES:
        raise CatalogFormatError(f"package type {package_type!r} is not one of {', '.join(PACKAGE_TYPES)}")
    optional = {"install"} if "install" in value else set()
    fields = fields_of(value, _ENTRY_FIELDS | optional | ({"source_build"} if package_type == "delta" else set()),
                       "package")
    revisions = bounded_list(fields, "hw_revisions", 1, MAX_HW_REVISIONS)
    if not all(isinstance(r, str) and IDENTIFIER.match(r) for r in revisions) or len(set(revisions)) != len(revisions):
        raise CatalogFormatError("hw_revisions must be distinct names of letters, digits and ._+-")
    return CatalogEntry(
        package_id=identifier(fields, "package_id"), product=identifier(fields, "product"),
        hw_revisions=tuple(revisions), build=identifier(fields, "build"),
        rollback_index=integer(fields, "rollback_index", 0, MAX_ROLLBACK_INDEX), type=package_type,
        size=integer(fields, "size", 1, MAX_PACKAGE_BYTES), sha256=sha256(fields, "sha256", "package"),
        url=_url(fields), source_build=identifier(fields, "source_build") if package_type == "delta" else None,
        install=_install(fields, package_type))


def _install(fields: dict, package_type: str) -> str:
    """As in a manifest: absent for fastboot, "sideload" only for a full package."""
    if "install" not in fields:
        return "fastboot"
    if fields["install"] != INSTALL_SIDELOAD:
        raise CatalogFormatError(f"install {fields['install']!r} is not {INSTALL_SIDELOAD!r}; leave it out for "
                                 "fastboot")
    if package_type != "full":
        raise CatalogFormatError("recovery installs full packages only: a sideload package cannot be a delta")
    return INSTALL_SIDELOAD


def _url(fields: dict) -> str:
    """An http(s) URL, or a path relative to the catalog that stays beside or below it."""
    url = string(fields, "url")
    if not 0 < len(url) <= MAX_URL or not all(0x21 <= ord(c) <= 0x7E for c in url) or "\\" in url:
        raise CatalogFormatError(f"url {url[:80]!r}: 1 to {MAX_URL} printable ASCII characters without spaces")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    if parts.scheme or parts.netloc or url.startswith("/") or ".." in parts.path.split("/"):
        raise CatalogFormatError(f"url {url!r} is neither http(s) nor a path below the catalog's folder")
    return url
