"""`tsuf catalog build`: a signed catalog of packages, for any static HTTP server or folder.

Each package is opened as a station opens it (signature, archive, whole-file SHA-256),
so the catalog lists only packages the publisher's own trust store accepts, with
what their verified manifests say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from ..atomic import write_atomically
from ..package.archive import PackageReader
from ..package.keys import SigningKey
from ..package.manifest import utc_timestamp
from ..package.summary import PackageSummary
from ..package.trust import TrustStore
from ..payload.container import is_ota_zip
from .errors import CatalogBuildError, CatalogError
from .model import MAX_VERSION, Catalog, CatalogEntry, decode, encode, parse_catalog

DEFAULT_LIFETIME = timedelta(days=30)


def build_catalog(packages: Sequence[Path], signing_keys: Sequence[SigningKey], output: Path, *,
                  trust_store: TrustStore, version: int | None = None, lifetime: timedelta = DEFAULT_LIFETIME,
                  base_url: str | None = None, now: datetime | None = None) -> Catalog:
    """Write a catalog of `packages` to `output`, signed by every key.

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
    catalog = Catalog(version=version, expires=utc_timestamp(now + lifetime), packages=entries)
    write_atomically(output, encode(catalog, signing_keys))
    return catalog


def _entry(path: Path, folder: Path, trust_store: TrustStore, base_url: str | None) -> CatalogEntry:
    if is_ota_zip(path):
        raise CatalogBuildError(f"{path} is a vendor OTA (payload.bin); a catalog lists TSUF packages only",
                                "Offer it from a station's firmware library instead: tsuf library add FOLDER")
    with PackageReader(path, trust_store) as reader:
        manifest, sha256 = reader.manifest, reader.package_sha256
    try:
        relative = path.absolute().relative_to(folder).as_posix()
    except ValueError:
        if base_url is None:
            raise CatalogBuildError(f"{path} is not in the catalog's folder {folder}, so the catalog cannot "
                                    "point to it", "Put the packages beside the catalog, or give --base-url "
                                    "where they are served.") from None
        relative = path.name
    url = quote(relative) if base_url is None else base_url.rstrip("/") + "/" + quote(relative)
    return CatalogEntry(**PackageSummary.of(manifest).summary_fields(), size=path.stat().st_size, sha256=sha256,
                        url=url)


def _next_version(output: Path, now: datetime) -> int:
    previous = 0
    if output.is_file():
        try:
            previous = parse_catalog(decode(output.read_bytes()).signed_bytes).version
        except CatalogError:
            pass  # not a catalog: nothing to follow
    return max(previous + 1, int(now.timestamp()))
