"""`tsuf catalog build`: a signed catalog of packages and vendor OTAs, for any static HTTP server or folder.

Each package is opened as a station opens it (signature, archive, whole-file SHA-256),
so the catalog lists only packages the publisher's own trust store accepts, with
what their verified manifests say. Each vendor OTA zip is opened as the library indexes
it (metadata, payload hashed, signatures by the trust store's OEM certificates) and
listed only when a trusted OEM certificate verified it; its zip is hashed for downloads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from ..atomic import write_atomically
from ..library.vendor_ota import NOT_AVAILABLE, NOT_TRUSTED, index_vendor_ota
from ..package.archive import PackageReader, sha256_of_file
from ..package.keys import SigningKey
from ..package.manifest import utc_timestamp
from ..package.summary import PackageSummary
from ..package.trust import TrustStore
from ..payload.container import is_ota_zip
from .errors import CatalogBuildError, CatalogError
from .model import MAX_VERSION, Catalog, CatalogEntry, decode, encode, format_for, parse_catalog

DEFAULT_LIFETIME = timedelta(days=30)


def build_catalog(packages: Sequence[Path], signing_keys: Sequence[SigningKey], output: Path, *,
                  trust_store: TrustStore, version: int | None = None, lifetime: timedelta = DEFAULT_LIFETIME,
                  base_url: str | None = None, now: datetime | None = None) -> Catalog:
    """Write a catalog of `packages` (TSUF packages and vendor OTA zips) to `output`, signed by every key.

    Without `base_url` each package must lie in the output's folder or below it, and is
    listed by its relative path; with it, by `base_url` + that path (or its file name).
    The version defaults to one more than the catalog being replaced, and at least the
    current Unix time, so a catalog rebuilt elsewhere still supersedes the last one.
    """
    if not signing_keys:
        raise CatalogBuildError("no signing key given", "Give at least one --key PRIVATE.pem.")
    if not packages:
        raise CatalogBuildError("no package given", "Name the package files the catalog lists.")
    if lifetime <= timedelta(0):
        raise CatalogBuildError(f"a catalog must stay valid for some time, not {lifetime}")
    output = Path(output).absolute()
    now = now or datetime.now(timezone.utc)
    entries = tuple(_entry(Path(path), output.parent, trust_store, base_url) for path in packages)
    version = _next_version(output, now) if version is None else version
    if not 1 <= version <= MAX_VERSION:
        raise CatalogBuildError(f"version {version} is not between 1 and {MAX_VERSION}")
    catalog = Catalog(version=version, expires=utc_timestamp(now + lifetime), packages=entries,
                      format_version=format_for(entries))
    write_atomically(output, encode(catalog, signing_keys))
    return catalog


def _entry(path: Path, folder: Path, trust_store: TrustStore, base_url: str | None) -> CatalogEntry:
    url = _url(path, folder, base_url)
    if is_ota_zip(path):
        return _ota_entry(path, trust_store, url)
    with PackageReader(path, trust_store) as reader:
        manifest, sha256 = reader.manifest, reader.package_sha256
    return CatalogEntry(**PackageSummary.of(manifest).summary_fields(), size=path.stat().st_size, sha256=sha256,
                        url=url)


def _ota_entry(path: Path, trust_store: TrustStore, url: str) -> CatalogEntry:
    ota = index_vendor_ota(path, trust_store)
    if ota.signer in (NOT_TRUSTED, NOT_AVAILABLE):
        raise CatalogBuildError(f"{path} is a vendor OTA no trusted OEM certificate verifies (signer: {ota.signer}); "
                                "stations would refuse it", "Trust the maker's OTA certificate in the publisher's "
                                "trust store first (tsuf payload trust CERT), or leave the OTA out.")
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        sha256 = sha256_of_file(file, size)
    return CatalogEntry(**ota.summary.summary_fields(), size=size, sha256=sha256, url=url,
                        payload_sha256=ota.payload_sha256, signer=ota.signer)


def _url(path: Path, folder: Path, base_url: str | None) -> str:
    try:
        relative = path.absolute().relative_to(folder).as_posix()
    except ValueError:
        if base_url is None:
            raise CatalogBuildError(f"{path} is not in the catalog's folder {folder}, so the catalog cannot "
                                    "point to it", "Put the packages beside the catalog, or give --base-url "
                                    "where they are served.") from None
        relative = path.name
    return quote(relative) if base_url is None else base_url.rstrip("/") + "/" + quote(relative)


def _next_version(output: Path, now: datetime) -> int:
    previous = 0
    if output.is_file():
        try:
            previous = parse_catalog(decode(output.read_bytes()).signed_bytes).version
        except CatalogError:
            pass  # not a catalog: nothing to follow
    return max(previous + 1, int(now.timestamp()))
