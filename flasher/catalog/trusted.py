"""The catalog's own rules, after its signatures: schema, version and expiry.

In this order: admitted by the trust store's keys in the catalog role (`package.trust.admit`,
the same decision as for packages), then parsed, then not older than the newest catalog this station saw at
that URL (no rollback), then not expired (no freeze). The newest version seen is
kept per catalog URL under TSUF's data folder, replaced atomically, and only after
a catalog passed every check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import PRIVATE_FILE, write_atomically
from ..package.roles import CATALOG_ROLE
from ..package.trust import Admission, Refusals, TrustStore, admit
from ..settings import load_settings
from .errors import (CatalogError, CatalogExpired, CatalogKeyOutOfScope, CatalogRollback, CatalogSignatureError,
                     CatalogUntrusted)
from .fetch import Fetcher, catalog_url, fetcher_for, resolve
from .model import MAX_CATALOG_BYTES, Catalog, CatalogEntry, decode, parse_catalog

MAX_STATE_BYTES = 64 * 1024
CATALOG_REFUSALS = Refusals(CatalogUntrusted, CatalogSignatureError, CatalogUntrusted, CatalogKeyOutOfScope)


@dataclass(frozen=True)
class TrustedCatalog:
    url: str  # where it was fetched from: entry URLs are relative to it
    catalog: Catalog
    signed_sha256: str
    admission: Admission

    def entry_url(self, entry: CatalogEntry) -> str:
        return resolve(self.url, entry.url)


class SeenCatalogs:
    """The newest catalog seen at each URL: its version and the SHA-256 of its signed part."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def default(cls) -> SeenCatalogs:
        return cls(load_settings().data_dir / "catalogs")

    def _path(self, url: str) -> Path:
        return self.folder / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"

    def last(self, url: str) -> tuple[int, str] | None:
        path = self._path(url)
        try:
            with open(path, "rb") as file:
                state = json.loads(file.read(MAX_STATE_BYTES))
            return int(state["version"]), str(state["signed_sha256"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            # Forgetting what was seen would let an old catalog back in: refuse instead.
            raise CatalogError(f"{path}: the record of the last catalog seen at {url} is unreadable ({error})",
                               f"If nobody tampered with this station, delete {path} to trust the "
                               "catalog afresh.") from None

    def record(self, url: str, version: int, signed_sha256: str) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(self._path(url), json.dumps({"url": url, "version": version,
                                                       "signed_sha256": signed_sha256}).encode(), mode=PRIVATE_FILE)


def verify_catalog(data: bytes, url: str, trust_store: TrustStore, seen: SeenCatalogs, *,
                   now: datetime | None = None) -> TrustedCatalog:
    signed = decode(data)
    catalog, admission = admit(signed.signed_bytes, signed.signatures, trust_store, subject=f"the catalog at {url}",
                               refusals=CATALOG_REFUSALS, parse=parse_catalog, role_of=lambda _: CATALOG_ROLE)
    digest = hashlib.sha256(signed.signed_bytes).hexdigest()
    if last := seen.last(url):
        version, last_digest = last
        if catalog.version < version:
            raise CatalogRollback(f"the catalog at {url} is version {catalog.version}; this station already "
                                  f"saw version {version}")
        if catalog.version == version and digest != last_digest:
            raise CatalogRollback(f"the catalog at {url} reuses version {version} for other contents")
    now = now or datetime.now(timezone.utc)
    if catalog.expires_at <= now:
        raise CatalogExpired(f"the catalog at {url} (version {catalog.version}) expired at {catalog.expires}")
    seen.record(url, catalog.version, digest)
    return TrustedCatalog(url, catalog, digest, admission)


def load_catalog(location: str, trust_store: TrustStore, seen: SeenCatalogs | None = None, *,
                 fetcher: Fetcher | None = None, now: datetime | None = None) -> TrustedCatalog:
    """Fetch the catalog at `location` (http(s) URL, file or folder) and trust it, or raise why not."""
    url = catalog_url(location)
    data = (fetcher or fetcher_for(url)).read(url, MAX_CATALOG_BYTES)
    return verify_catalog(data, url, trust_store, seen or SeenCatalogs.default(), now=now)
