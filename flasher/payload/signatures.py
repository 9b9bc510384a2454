"""The Signatures message (metadata and payload signatures) and checking one against an OEM key.

update_engine signs a SHA-256 digest: RSA with PKCS#1 v1.5 padding over the digest's
DigestInfo (what `openssl pkeyutl -sign -pkeyopt digest:sha256` makes of a digest), or
ECDSA for EC keys, whose DER signature is padded and carries its unpadded size.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from .errors import MalformedPayload
from .wire import FIXED32, LENGTH, expect, fields

MAX_SIGNATURES = 16
MAX_SIGNATURES_BLOB = 64 << 10


def parse_signatures(data: bytes, what: str) -> tuple[bytes, ...]:
    """The signature bytes (padding removed) of a Signatures message."""
    signatures = []
    for number, wire_type, value in fields(memoryview(data), what):
        if number != 1:
            continue
        data_, unpadded = b"", None
        for inner, inner_type, inner_value in fields(expect(value, wire_type, LENGTH, what), what):
            if inner == 2:
                data_ = bytes(expect(inner_value, inner_type, LENGTH, what))
            elif inner == 3:
                unpadded = expect(inner_value, inner_type, FIXED32, what)
        if unpadded is not None:
            if unpadded > len(data_):
                raise MalformedPayload(f"{what}: a signature's unpadded size is larger than the signature")
            data_ = data_[:unpadded]
        signatures.append(data_)
        if len(signatures) > MAX_SIGNATURES:
            raise MalformedPayload(f"{what} holds more than {MAX_SIGNATURES} signatures")
    return tuple(signatures)


def signed_by(public_key, signatures: tuple[bytes, ...], sha256_digest: bytes) -> bool:
    """Whether one of `signatures` is `public_key`'s over the digest, as update_engine signs it."""
    for signature in signatures:
        try:
            if isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(signature, sha256_digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
            elif isinstance(public_key, ec.EllipticCurvePublicKey):
                public_key.verify(signature, sha256_digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            else:
                return False
        except InvalidSignature:
            continue
        return True
    return False
