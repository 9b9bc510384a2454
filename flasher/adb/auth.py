"""ADB's RSA authentication, both ends, without I/O: the signature and the public key format.

adbd sends AUTH TOKEN (20 random bytes). The host answers AUTH SIGNATURE: the token
signed with RSA PKCS#1 v1.5 as if it were a SHA-1 digest (adbd checks it that way
against every key it trusts). A signature no trusted key matches gets a new TOKEN;
the host then sends AUTH RSAPUBLICKEY, its public key in Android's old mincrypt
layout, base64, " user@host" and a NUL, and the phone asks its user whether to
allow USB debugging from this computer.
"""

import base64
import binascii
import os
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

TOKEN_SIZE = 20
KEY_BITS = 2048
_WORDS = KEY_BITS // 32
_MINCRYPT = struct.Struct(f"<II{_WORDS}I{_WORDS}II")
"""Word count, n0inv (-1/n mod 2^32), modulus and R^2 mod n as little-endian words, exponent."""
MAX_PUBLIC_KEY = 2048
"""An RSAPUBLICKEY payload is about 720 bytes; anything much longer is not one."""


def new_token() -> bytes:
    return os.urandom(TOKEN_SIZE)


def sign_token(key: rsa.RSAPrivateKey, token: bytes) -> bytes:
    return key.sign(token, padding.PKCS1v15(), Prehashed(hashes.SHA1()))


def signature_matches(key: rsa.RSAPublicKey, token: bytes, signature: bytes) -> bool:
    if len(token) != TOKEN_SIZE:
        return False
    try:
        key.verify(signature, token, padding.PKCS1v15(), Prehashed(hashes.SHA1()))
    except (InvalidSignature, ValueError):
        return False
    return True


def encode_public_key(key: rsa.RSAPublicKey) -> bytes:
    """The mincrypt structure of a 2048-bit key, base64 (what adbkey.pub starts with)."""
    numbers = key.public_numbers()
    n = numbers.n
    if n.bit_length() != KEY_BITS:
        raise ValueError(f"ADB keys are {KEY_BITS}-bit RSA; this one has {n.bit_length()} bits")
    words = lambda value: [(value >> (32 * i)) & 0xFFFFFFFF for i in range(_WORDS)]  # noqa: E731
    n0inv = (-pow(n & 0xFFFFFFFF, -1, 1 << 32)) % (1 << 32)
    rr = pow(2, 2 * KEY_BITS, n)
    raw = _MINCRYPT.pack(_WORDS, n0inv, *words(n), *words(rr), numbers.e)
    return base64.b64encode(raw)


def decode_public_key(text: bytes) -> rsa.RSAPublicKey:
    """A key line as adbkey.pub, adb_keys or an RSAPUBLICKEY payload hold it: base64, then an
    optional comment ("user@host") and NUL. ValueError for anything else."""
    blob = text.rstrip(b"\0").strip().split(b" ", 1)[0]
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error:
        raise ValueError("the key is not base64") from None
    if len(raw) != _MINCRYPT.size:
        raise ValueError(f"an ADB public key has {_MINCRYPT.size} bytes, not {len(raw)}")
    fields = _MINCRYPT.unpack(raw)
    if fields[0] != _WORDS:
        raise ValueError(f"an ADB public key has {_WORDS} words, not {fields[0]}")
    n = sum(word << (32 * i) for i, word in enumerate(fields[2:2 + _WORDS]))
    exponent = fields[-1]
    if n.bit_length() != KEY_BITS or exponent < 3 or exponent % 2 == 0:
        raise ValueError("the key's modulus or exponent is not an RSA key's")
    return rsa.RSAPublicNumbers(exponent, n).public_key()


def public_key_payload(key: rsa.RSAPublicKey, comment: str) -> bytes:
    """The AUTH RSAPUBLICKEY payload: base64 key, a space, the comment, a NUL."""
    return encode_public_key(key) + b" " + comment.encode("utf-8", errors="replace") + b"\0"
