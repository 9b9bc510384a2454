"""The Signatures message that holds a payload's metadata and payload signatures.

ECDSA signatures vary in length, so update_engine pads each to a fixed size and records
its unpadded size; the padding is cut off here. Checking them is trust's
(flasher/package/trust.py `oem_signer`).
"""

from __future__ import annotations

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

