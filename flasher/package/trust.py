"""The one place that decides whether a signed document, a package or a catalog, is trusted.

A trust store is a folder of PEM public keys, one file per key named by its key id, and
`trust.json`, which gives each key its scope (the products and package kinds it may sign,
and whether it may sign catalogs; see roles.py) and each role an optional threshold: how
many keys in scope must sign. Importing a key trusts it; removing it revokes it. A store
written before scopes existed (keys only) is read as every key trusted for everything,
which is what it meant, and is given its `trust.json` on first read.

`admit` decides for every kind of document alike, in this order: signed at all; every
signature by a key in the store verifies (one that does not means the document was
changed); some key in the store signed; then, with the document parsed, enough of those
keys are in scope for the role it asks. Several signatures let a publisher rotate keys;
signatures by unknown keys are ignored but reported.

Factory images as manufacturers publish them for `fastboot update` carry no signature
TSUF can check; `admit_unsigned_images` lets them in on the user's explicit word alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives import serialization

from ..atomic import PRIVATE_FILE, write_atomically
from ..errors import FlasherError
from . import keys
from .errors import BadSignature, KeyOutOfScope, TrustStoreError, UnsignedImages, UnsignedPackage, UntrustedPackage
from .manifest import Manifest, parse_manifest
from .roles import EVERYTHING, MAX_THRESHOLD, NOTHING, ROLES, Role, Scope, package_role, scope_from_dict

TRUST_STORE_ENV = "TSUF_TRUST_STORE"
KEY_ID = re.compile(r"[0-9a-f]{32}\Z")


STORE_FORMAT = 2
"""1: key files only (every key trusted for everything); 2: trust.json gives scopes and thresholds."""
STORE_FILE = "trust.json"
OEM_FOLDER = "oem"
"""OEM certificates: the keys that sign makers' OTA payloads (update_engine), one PEM file per key id."""
MAX_STORE_FILE = 1 << 20
Document = TypeVar("Document")


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
    scope: Scope


@dataclass(frozen=True)
class _Policy:
    """What trust.json holds: each key's scope and each role's threshold."""

    scopes: dict[str, Scope]
    thresholds: dict[str, int]

    def to_bytes(self) -> bytes:
        return json.dumps({"format_version": STORE_FORMAT,
                           "keys": {key_id: scope.to_dict() for key_id, scope in sorted(self.scopes.items())},
                           "thresholds": dict(sorted(self.thresholds.items()))}, indent=2).encode() + b"\n"


@dataclass(frozen=True)
class OemCertificate:
    """A maker's OTA key (from its otacert) the user trusts to sign OTA payloads."""

    key_id: str
    public_key: keys.OemKey
    path: Path


class TrustStore:
    """A folder of trusted public keys and their scopes; a missing folder is an empty store.

    Its `oem` folder holds makers' OTA certificates, trusted for OTA payloads only: they
    sign no packages or catalogs, so they have no scope.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def default(cls) -> TrustStore:
        return cls(default_trust_store_folder())

    @property
    def policy_path(self) -> Path:
        return self.folder / STORE_FILE

    def keys(self) -> list[TrustedKey]:
        if not self.folder.is_dir():
            return []
        policy = self._policy()
        return [self._load(path, policy) for path in sorted(self.folder.glob("*.pem"))]

    def get(self, key_id: str) -> TrustedKey | None:
        path = self.folder / f"{key_id}.pem"
        if not (KEY_ID.match(key_id) and path.is_file()):
            return None
        return self._load(path, self._policy())

    def threshold(self, role: str) -> int:
        """How many keys in scope must sign a document of this role (1 unless set)."""
        return self._policy().thresholds.get(role, 1) if self.folder.is_dir() else 1

    def import_key(self, pem_path: Path, scope: Scope | None = None) -> TrustedKey:
        """Trust a key: with `scope`, or its present scope if already trusted, else for everything."""
        public_key = keys.read_public_key(pem_path)
        identity = keys.key_id(public_key)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        policy = self._policy()
        target = self.folder / f"{identity}.pem"
        write_atomically(target, keys.public_pem(public_key), mode=PRIVATE_FILE)
        policy.scopes[identity] = scope or policy.scopes.get(identity, EVERYTHING)
        self._save(policy)
        return TrustedKey(identity, keys.algorithm_of(public_key), public_key, target, policy.scopes[identity])

    def oem_certificates(self) -> list[OemCertificate]:
        folder = self.folder / OEM_FOLDER
        if not folder.is_dir():
            return []
        self._check_private()
        certificates = []
        for path in sorted(folder.glob("*.pem")):
            public_key = keys.read_oem_key(path)
            if path.stem != (identity := keys.key_id(public_key)):
                raise TrustStoreError(f"{path} holds key {identity}, not {path.stem}")
            certificates.append(OemCertificate(identity, public_key, path))
        return certificates

    def import_oem_certificate(self, pem_path: Path) -> OemCertificate:
        """Trust a maker's OTA certificate (otacert) for OTA payloads."""
        public_key = keys.read_oem_key(pem_path)
        identity = keys.key_id(public_key)
        folder = self.folder / OEM_FOLDER
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = folder / f"{identity}.pem"
        write_atomically(target, public_key.public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo),
                         mode=PRIVATE_FILE)
        return OemCertificate(identity, public_key, target)

    def remove_oem_certificate(self, key_id: str) -> None:
        """Stop trusting a maker's OTA certificate: its payloads no longer verify."""
        path = self.folder / OEM_FOLDER / f"{key_id}.pem"
        if not (KEY_ID.match(key_id) and path.is_file()):
            raise TrustStoreError(f"no OEM certificate {key_id!r} in {self.folder}",
                                  "List them: tsuf payload certificates")
        path.unlink()

    def set_scope(self, key_id: str, scope: Scope) -> TrustedKey:
        key = self.require(key_id)
        policy = self._policy()
        policy.scopes[key_id] = scope
        self._save(policy)
        return TrustedKey(key.key_id, key.algorithm, key.public_key, key.path, scope)

    def set_threshold(self, role: str, count: int) -> None:
        if role not in ROLES or not 1 <= count <= MAX_THRESHOLD:
            raise TrustStoreError(f"a threshold is 1 to {MAX_THRESHOLD} keys for one of {', '.join(ROLES)}")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        policy = self._policy()
        policy.thresholds[role] = count
        self._save(policy)

    def remove(self, key_id: str) -> None:
        key = self.require(key_id)
        policy = self._policy()
        policy.scopes.pop(key_id, None)
        key.path.unlink()
        self._save(policy)

    def require(self, key_id: str) -> TrustedKey:
        if (key := self.get(key_id)) is None:
            raise TrustStoreError(f"no key {key_id!r} in {self.folder}", "List the trusted keys: tsuf keys list")
        return key

    def _check_private(self) -> None:
        """Whoever can write the trust store decides what gets flashed: only its owner may."""
        if os.name != "posix":
            return  # Windows: the folder lives in the user's profile, guarded by its ACLs
        oem = self.folder / OEM_FOLDER
        for path in (self.folder, *self.folder.glob("*.pem"), *self.folder.glob(STORE_FILE),
                     *([oem] if oem.is_dir() else []), *oem.glob("*.pem")):
            if path.stat().st_mode & 0o022:
                raise TrustStoreError(f"{path} can be changed by other users, so its keys cannot be trusted",
                                      f"Make it the owner's alone: chmod -R go-w {self.folder}")

    def _policy(self) -> _Policy:
        """trust.json, read; a store from before scopes is migrated to it first."""
        if not self.folder.is_dir():
            return _Policy({}, {})
        self._check_private()
        try:
            with open(self.policy_path, "rb") as file:
                data = file.read(MAX_STORE_FILE + 1)
        except FileNotFoundError:
            return self._migrate()
        except OSError as error:
            raise TrustStoreError(f"{self.policy_path}: cannot read ({error.strerror})") from None
        return _parse_policy(data, self.policy_path)

    def _migrate(self) -> _Policy:
        # Before scopes, every key in the store was trusted for everything: keep that meaning.
        policy = _Policy({path.stem: EVERYTHING for path in self.folder.glob("*.pem") if KEY_ID.match(path.stem)}, {})
        try:
            self._save(policy)
        except OSError:
            pass  # a read-only store still reads the same; it migrates when it can be written
        return policy

    def _save(self, policy: _Policy) -> None:
        write_atomically(self.policy_path, policy.to_bytes(), mode=PRIVATE_FILE)

    def _load(self, path: Path, policy: _Policy) -> TrustedKey:
        public_key = keys.read_public_key(path)
        identity = keys.key_id(public_key)
        # The file name is only an index; a key saved under another key's id must not pose as it.
        if path.stem != identity:
            raise TrustStoreError(f"{path} holds key {identity}, not {path.stem}")
        # A key file trust.json does not name was put there by hand: trusted for nothing until scoped.
        return TrustedKey(identity, keys.algorithm_of(public_key), public_key, path,
                          policy.scopes.get(identity, NOTHING))


def _parse_policy(data: bytes, path: Path) -> _Policy:
    try:
        if len(data) > MAX_STORE_FILE:
            raise ValueError("too large")
        value = json.loads(data)
        if not isinstance(value, dict) or set(value) != {"format_version", "keys", "thresholds"}:
            raise ValueError("not a trust store file (format_version, keys, thresholds)")
    except ValueError as error:
        raise TrustStoreError(f"{path}: {error}") from None
    version = value["format_version"]
    if type(version) is int and version > STORE_FORMAT:
        raise TrustStoreError(f"{path} is trust store format {version}, newer than this TSUF reads ({STORE_FORMAT})",
                              "Update TSUF on this station.")
    if version != STORE_FORMAT or not isinstance(value["keys"], dict) or not isinstance(value["thresholds"], dict):
        raise TrustStoreError(f"{path}: not a trust store file of format {STORE_FORMAT}")
    scopes = {key_id: scope_from_dict(scope, f"{path}: key {key_id}") for key_id, scope in value["keys"].items()
              if KEY_ID.match(key_id)}
    thresholds = value["thresholds"]
    if not (set(thresholds) <= set(ROLES)
            and all(type(count) is int and 1 <= count <= MAX_THRESHOLD for count in thresholds.values())):
        raise TrustStoreError(f"{path}: thresholds must be 1 to {MAX_THRESHOLD} keys for {', '.join(ROLES)}")
    return _Policy(scopes, dict(thresholds))


@dataclass(frozen=True)
class SignatureReport:
    trusted: tuple[str, ...]
    bad: tuple[str, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class Refusals:
    """The errors a kind of document is refused with, so that each refusal names what was refused."""

    unsigned: type[FlasherError]
    bad_signature: type[FlasherError]
    untrusted: type[FlasherError]
    out_of_scope: type[FlasherError]


PACKAGE_REFUSALS = Refusals(UnsignedPackage, BadSignature, UntrustedPackage, KeyOutOfScope)


@dataclass(frozen=True)
class Admitter:
    """A key that signed a document and whose scope allows the role the document asks."""

    key_id: str
    scope: Scope

    def describe(self, role: Role) -> str:
        return f"key {self.key_id[:16]} ({role.name} signer: {self.scope.describe()})"


@dataclass(frozen=True)
class Admission:
    """Why a document is trusted: the role it asked, the keys in scope that signed it, and the others."""

    role: Role
    admitted_by: tuple[Admitter, ...]
    out_of_scope: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def trusted_signers(self) -> tuple[str, ...]:
        return tuple(admitter.key_id for admitter in self.admitted_by)

    def describe(self) -> str:
        return "; ".join(admitter.describe(self.role) for admitter in self.admitted_by)


def check_signatures(signed_bytes: bytes, signatures: Mapping[str, bytes], store: TrustStore) -> SignatureReport:
    """Sort the signers by what the store says of them; decides nothing."""
    trusted, bad, unknown = [], [], []
    for signer, signature in sorted(signatures.items()):
        key = store.get(signer)
        if key is None:
            unknown.append(signer)
        elif keys.verify_signature(key.public_key, signature, signed_bytes):
            trusted.append(signer)
        else:
            bad.append(signer)
    return SignatureReport(tuple(trusted), tuple(bad), tuple(unknown))


def admit(signed_bytes: bytes, signatures: Mapping[str, bytes], store: TrustStore, *, subject: str,
          refusals: Refusals, parse: Callable[[bytes], Document],
          role_of: Callable[[Document], Role]) -> tuple[Document, Admission]:
    """The document `parse` makes of `signed_bytes`, parsed only once its signatures verified,
    and who admitted it; or the refusal that says why not."""
    if not signatures:
        raise refusals.unsigned(f"{subject} is not signed")
    report = check_signatures(signed_bytes, signatures, store)
    if report.bad:
        raise refusals.bad_signature(f"the signature by trusted key {', '.join(report.bad)} does not match "
                                     f"{subject}: it was changed after signing")
    if not report.trusted:
        raise refusals.untrusted(f"{subject} is signed only by keys not in the trust store {store.folder}: "
                                 f"{', '.join(report.unknown)}")
    document = parse(signed_bytes)
    role = role_of(document)
    signers = [key for key_id in report.trusted if (key := store.get(key_id))]  # a key removed meanwhile drops out
    admitters = tuple(Admitter(key.key_id, key.scope) for key in signers if key.scope.allows(role))
    out_of_scope = tuple(key for key in signers if not key.scope.allows(role))
    if out_of_scope and not admitters:
        named = "; ".join(f"{key.key_id} ({key.scope.describe()})" for key in out_of_scope)
        raise refusals.out_of_scope(
            f"{subject} is signed only by keys the trust store {store.folder} does not allow to sign "
            f"{role.describe()}: {named}",
            f"If that publisher may sign {role.describe()}, widen its key's scope: tsuf keys scope "
            f"{out_of_scope[0].key_id} " + ("--catalogs" if role.name == "catalog"
                                            else f"--products {role.product} --kinds {role.kind}"))
    if len(admitters) < (needed := store.threshold(role.name)):
        raise refusals.untrusted(f"{subject} is signed by {len(admitters)} key(s) allowed to sign "
                                 f"{role.describe()}; the trust store asks for {needed}",
                                 f"Ask the publisher to sign with more keys, or lower the threshold: "
                                 f"tsuf keys threshold {role.name} {len(admitters)}" if admitters else None)
    return document, Admission(role, admitters, tuple(key.key_id for key in out_of_scope), report.unknown)


@dataclass(frozen=True)
class TrustedManifest:
    """A manifest whose bytes verified with trusted keys in scope, parsed only after that."""

    manifest: Manifest
    manifest_bytes: bytes
    admission: Admission

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()


def oem_signer(signed: Sequence[tuple[bytes, Sequence[bytes]]],
               candidates: Sequence[tuple[str, keys.OemKey]]) -> str | None:
    """The first candidate OEM key (by its label) that made one signature over every SHA-256 digest in
    `signed` (digest, signatures), as update_engine accepts an OTA payload; None if none did."""
    for label, key in candidates:
        if all(any(keys.verify_oem_digest(key, signature, digest) for signature in signatures)
               for digest, signatures in signed):
            return label
    return None


def verify_manifest(manifest_bytes: bytes, signatures: Mapping[str, bytes], store: TrustStore) -> TrustedManifest:
    manifest, admission = admit(manifest_bytes, signatures, store, subject="the package", refusals=PACKAGE_REFUSALS,
                                parse=parse_manifest, role_of=package_role)
    return TrustedManifest(manifest, manifest_bytes, admission)


def admit_unsigned_images(subject: str, user_said_yes: bool) -> None:
    """Unsigned factory images go through only when the user said so for this run (a flag,
    or yes at the prompt); never by a setting kept from before."""
    if not user_said_yes:
        raise UnsignedImages(f"{subject} holds factory images that nobody signed for TSUF")
