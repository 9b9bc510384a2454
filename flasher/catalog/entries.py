"""A catalog's entries: TSUF packages (format 1's rules, unchanged) and, from format 2, vendor OTAs.

An entry without `kind` is a TSUF package, so a format 1 catalog keeps its one byte
string. A vendor OTA entry says `"kind": "vendor-ota"` and carries two hashes: `sha256`
of the whole zip (what a download is checked against) and `payload_sha256`, the
payload.bin FILE_HASH (what the opened OTA reports as its hash). It states no rollback
index, hardware revisions or install: an OTA has none outside its images.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..package.archive import MAX_PACKAGE_BYTES
from ..package.manifest import INSTALL_SIDELOAD, MAX_ROLLBACK_INDEX, PACKAGE_TYPES
from ..package.schema import IDENTIFIER, bounded_list, fields_of, identifier, integer, sha256, string
from ..package.summary import OTA_FULL, OTA_INCREMENTAL, VENDOR_OTA, PackageSummary
from .errors import CatalogFormatError

MAX_HW_REVISIONS = 32
MAX_URL = 2048
MAX_SIGNER = 256
OTA_KIND = "vendor-ota"  # an entry's `kind` in the catalog file
OTA_TYPES = (OTA_FULL, OTA_INCREMENTAL)
FIRST_FORMAT_WITH_KIND = 2

_PACKAGE_FIELDS = {"package_id", "product", "hw_revisions", "build", "rollback_index", "type", "size", "sha256",
                   "url"}
_OTA_FIELDS = {"kind", "package_id", "product", "build", "type", "size", "sha256", "payload_sha256", "signer", "url"}
_NOT_IN_AN_OTA = ("hw_revisions", "install", "rollback_index")


@dataclass(frozen=True, kw_only=True)
class CatalogEntry(PackageSummary):
    """One package or vendor OTA as the catalog describes it; `url` is absolute or relative to the catalog."""

    size: int
    sha256: str  # of the whole file: what a download is checked against
    url: str
    payload_sha256: str | None = None  # a vendor OTA's payload.bin FILE_HASH: what the opened OTA reports
    signer: str | None = None  # a vendor OTA's: the OEM certificate the publisher's trust store verified it with

    def to_dict(self) -> dict:
        if self.kind == VENDOR_OTA:
            data = {"kind": OTA_KIND, "package_id": self.package_id, "product": self.product, "build": self.build,
                    "type": self.type, "size": self.size, "sha256": self.sha256,
                    "payload_sha256": self.payload_sha256, "signer": self.signer, "url": self.url}
        else:
            data = {"package_id": self.package_id, "product": self.product, "hw_revisions": list(self.hw_revisions),
                    "build": self.build, "rollback_index": self.rollback_index, "type": self.type,
                    "size": self.size, "sha256": self.sha256, "url": self.url}
            if self.install != "fastboot":  # absent means fastboot, as in a manifest
                data["install"] = self.install
        if self.source_build is not None:
            data["source_build"] = self.source_build
        return data


def entry_from(value, format_version: int) -> CatalogEntry:
    """One entry of a catalog of `format_version`, checked field by field (ManifestError from the schema
    checkers, CatalogFormatError for the catalog's own rules)."""
    if isinstance(value, dict) and "kind" in value:
        if format_version < FIRST_FORMAT_WITH_KIND:
            raise CatalogFormatError(f"an entry has a kind, which format_version {format_version} does not know; "
                                     f"only a catalog of format_version {FIRST_FORMAT_WITH_KIND} lists vendor OTAs")
        if value["kind"] != OTA_KIND:
            raise CatalogFormatError(f"kind {str(value['kind'])[:40]!r} is not {OTA_KIND!r}; leave it out for a "
                                     "TSUF package")
        return _ota_from(value)
    return _package_from(value)


def _package_from(value) -> CatalogEntry:
    package_type = value.get("type") if isinstance(value, dict) else None
    if package_type not in PACKAGE_TYPES:
        raise CatalogFormatError(f"package type {package_type!r} is not one of {', '.join(PACKAGE_TYPES)}")
    optional = {"install"} if "install" in value else set()
    fields = fields_of(value, _PACKAGE_FIELDS | optional | ({"source_build"} if package_type == "delta" else set()),
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


def _ota_from(value: dict) -> CatalogEntry:
    if stated := [name for name in _NOT_IN_AN_OTA if name in value]:
        raise CatalogFormatError(f"a vendor OTA entry states no {', '.join(stated)}: an OTA has none outside its "
                                 "images")
    ota_type = value.get("type")
    if ota_type not in OTA_TYPES:
        raise CatalogFormatError(f"vendor OTA type {str(ota_type)[:40]!r} is not one of {', '.join(OTA_TYPES)}")
    incremental = ota_type == OTA_INCREMENTAL
    fields = fields_of(value, _OTA_FIELDS | ({"source_build"} if incremental else set()), "vendor OTA")
    return CatalogEntry(
        package_id=identifier(fields, "package_id"), product=identifier(fields, "product"), hw_revisions=(),
        build=identifier(fields, "build"), rollback_index=None, type=ota_type,
        source_build=identifier(fields, "source_build") if incremental else None, kind=VENDOR_OTA,
        size=integer(fields, "size", 1, MAX_PACKAGE_BYTES), sha256=sha256(fields, "sha256", "vendor OTA"),
        payload_sha256=sha256(fields, "payload_sha256", "vendor OTA"), signer=_signer(fields), url=_url(fields))


def _signer(fields: dict) -> str:
    """Informative only (the station checks the OTA's signature itself), but shown: printable ASCII."""
    signer = string(fields, "signer")
    if not 0 < len(signer) <= MAX_SIGNER or not all(0x20 <= ord(c) <= 0x7E for c in signer):
        raise CatalogFormatError(f"signer {signer[:80]!r}: 1 to {MAX_SIGNER} printable ASCII characters")
    return signer


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
