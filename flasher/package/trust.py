"""The one place that decides whether a package is trusted.

A trust store is a folder of PEM public keys, one file per key named by its key id.
Importing a key trusts it; removing it revokes it. `verify_manifest` trusts a
manifest when at least one signature verifies with a key in the store; several
signatures let a publisher rotate keys, and signatures by unknown keys are ignored
but reported. A signature by a trusted key that does not verify refuses the package:
it means the manifest or the signature was changed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import keys
from .errors import BadSignature, TrustStoreError, UnsignedPackage, UntrustedPackage
from .manifest import Manifest, parse_manifest

TRUST_STORE_ENV = "TSUF_TRUST_STORE"
KEY_ID = re.compile(r"[0-9a-f]{32}\Z")


def default_trust_store_folder() -> Path:
    """$TSUF_TRUST_STORE, else `trust` in the config folder the station's settings use."""
    if folder := os.environ.get(TRUST_STORE_ENV):
        return Path(folder)
    from ..settings import load_settings
    return load_settings().trust_store


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    algorithm: str
    public_key: keys.PublicKey
    path: Path


class TrustStore:
    """A folder of trusted public keys; a missing folder is an empty store."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def default(cls) -> TrustStore:
        return cls(default_trust_store_folder())

    def keys(self) -> list[TrustedKey]:
        if not self.folder.is_dir():
            return []
        self._check_private()
        return [self._load(path) for path in sorted(self.folder.glob("*.pem"))]

    def _check_private(self) -> None:
        """Whoever can write the trust store decides what gets flashed: only its owner may."""
        if os.name != "posix":
            return  # Windows: the folder lives in the user's profile, guarded by its ACLs
        for path in (self.folder, *self.folder.glob("*.pem")):
            if path.stat().st_mode & 0o022:
                raise TrustStoreError(f"{path} can be changed by other users, so its keys cannot be trusted",
                                      f"Make it the owner's alone: chmod -R go-w {self.folder}")

    def get(self, key_id: str) -> TrustedKey | None:
        path = self.folder / f"{key_id}.pem"
        if not (KEY_ID.match(key_id) and path.is_file()):
            return None
        self._check_private()
        return self._load(path)

    def import_key(self, pem_path: Path) -> TrustedKey:
        public_key = keys.read_public_key(pem_path)
        identity = keys.key_id(public_key)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.folder / f"{identity}.pem"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(keys.public_pem(public_key))
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
        return TrustedKey(identity, keys.algorithm_of(public_key), public_key, target)

    def remove(self, key_id: str) -> None:
        path = self.folder / f"{key_id}.pem"
        if not KEY_ID.match(key_id) or not path.is_file():
            raise TrustStoreError(f"no key {key_id!r} in {self.folder}", "List the trusted keys: tsuf keys list")
        path.unlink()

    def _load(self, path: Path) -> TrustedKey:
        public_key = keys.read_public_key(path)
        identity = keys.key_id(public_key)
        # The file name is only an index; a key saved under another key's id must not pose as it.
        if path.stem != identity:
            raise TrustStoreError(f"{path} holds key {identity}, not {path.stem}")
        return TrustedKey(identity, keys.algorithm_of(public_key), public_key, path)


@dataclass(frozen=True)
class SignatureReport:
    trusted: tuple[str, ...]
    bad: tuple[str, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class TrustedManifest:
    """A manifest whose bytes verified with a trusted key, parsed only after that."""

    manifest: Manifest
    manifest_bytes: bytes
    trusted_signers: tuple[str, ...]
    unknown_signers: tuple[str, ...]

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()


def check_signatures(manifest_bytes: bytes, signatures: Mapping[str, bytes], store: TrustStore) -> SignatureReport:
    """Sort the signers by what the store says of them; decides nothing."""
    trusted, bad, unknown = [], [], []
    for signer, signature in sorted(signatures.items()):
        key = store.get(signer)
        if key is None:
            unknown.append(signer)
        elif keys.verify_signature(key.public_key, signature, manifest_bytes):
            trusted.append(signer)
        else:
            bad.append(signer)
    return SignatureReport(tuple(trusted), tuple(bad), tuple(unknown))


def verify_manifest(manifest_bytes: bytes, signatures: Mapping[str, bytes], store: TrustStore) -> TrustedManifest:
    if not signatures:
        raise UnsignedPackage("the package is not signed")
    report = check_signatures(manifest_bytes, signatures, store)
    if report.bad:
        raise BadSignature(f"the signature by trusted key {', '.join(report.bad)} does not match the manifest: "
                           "the package was changed after signing")
    if not report.trusted:
        raise UntrustedPackage(f"the package is signed only by keys not in the trust store {store.folder}: "
                               f"{', '.join(report.unknown)}")
    return TrustedManifest(parse_manifest(manifest_bytes), manifest_bytes, report.trusted, report.unknown)
