"""Keys: generating, loading PEM, signing and checking signatures.

Ed25519 (the default) signs the message itself: a raw 64-byte signature, as
`openssl pkeyutl -rawin` checks it. ECDSA P-256 signs the SHA-256 of the message:
a DER signature, as `openssl dgst -sha256 -verify` checks it. Private keys are
unencrypted PKCS#8 PEM written 0600; public keys are SubjectPublicKeyInfo PEM.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .errors import KeyFileError

ED25519 = "ed25519"
ECDSA_P256 = "ecdsa-p256"
ALGORITHMS = (ED25519, ECDSA_P256)
MAX_KEY_FILE = 64 * 1024

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def key_id(public_key: PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, first 16 bytes in hex: names the key in signatures/<id>.sig."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:32]


def algorithm_of(key: PublicKey | PrivateKey) -> str:
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return ED25519
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and isinstance(key.curve, ec.SECP256R1):
        return ECDSA_P256
    raise KeyFileError(f"unsupported key type {type(key).__name__}")


def public_pem(public_key: PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class SigningKey:
    """A private key ready to sign, with its algorithm and key id."""

    private_key: PrivateKey

    @property
    def algorithm(self) -> str:
        return algorithm_of(self.private_key)

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        if self.algorithm == ED25519:
            return self.private_key.sign(message)
        return self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))


def generate_key(algorithm: str = ED25519) -> SigningKey:
    if algorithm == ED25519:
        return SigningKey(ed25519.Ed25519PrivateKey.generate())
    if algorithm == ECDSA_P256:
        return SigningKey(ec.generate_private_key(ec.SECP256R1()))
    raise KeyFileError(f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")


def write_key_pair(key: SigningKey, folder: Path, name: str) -> tuple[Path, Path]:
    """Write NAME.pem (private, 0600) and NAME.pub.pem; never overwrites an existing key."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    for path, data, mode in ((private_path, private, 0o600), (public_path, public_pem(key.public_key), 0o644)):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            raise KeyFileError(f"{path} already exists", "Choose another name or --out folder; "
                               "TSUF never overwrites a key.") from None
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    return private_path, public_path


def load_private_key(path: Path) -> SigningKey:
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key ({error})") from None
    algorithm_of(key)
    return SigningKey(key)


def load_public_key(data: bytes, source: str = "key") -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        hint = "That is a private key; import its .pub.pem instead." if b"PRIVATE KEY" in data else None
        raise KeyFileError(f"{source}: not a PEM public key ({error})", hint) from None
    algorithm_of(key)
    return key


OemKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
MIN_RSA_BITS = 2048


def load_oem_key(data: bytes, source: str = "certificate") -> OemKey:
    """A maker's OTA signing key (Android's otacert): an X.509 certificate or a public key, RSA or EC, in PEM.

    Only OTA payloads are checked with it; packages keep their own algorithms."""
    try:
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"{source}: not a PEM certificate or public key ({error})",
                           "Give the maker's OTA certificate (otacert, X.509 PEM) or its public key.") from None
    if not (isinstance(key, ec.EllipticCurvePublicKey)
            or isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS):
        raise KeyFileError(f"{source}: an OTA key is RSA of {MIN_RSA_BITS} bits or more, or EC",
                           "Give the maker's OTA certificate (otacert, X.509 PEM).")
    return key


def read_oem_key(path: Path) -> OemKey:
    return load_oem_key(_read_key_file(path), str(path))


def verify_oem_digest(public_key: OemKey, signature: bytes, sha256_digest: bytes) -> bool:
    """An OTA signature as update_engine checks it: over a SHA-256 digest, RSA PKCS#1 v1.5 (what
    `openssl pkeyutl -sign -pkeyopt digest:sha256` makes) or ECDSA."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, sha256_digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        else:
            public_key.verify(signature, sha256_digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


def read_public_key(path: Path) -> PublicKey:
    return load_public_key(_read_key_file(path), str(path))


def verify_signature(public_key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if algorithm_of(public_key) == ED25519:
            public_key.verify(signature, message)
        else:
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _read_key_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_KEY_FILE + 1)
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read ({error.strerror})") from None
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(f"{path}: too large to be a key")
    return data
