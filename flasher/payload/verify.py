"""Checking a payload as update_engine does before it applies anything.

- payload_properties.txt: METADATA_SIZE and METADATA_HASH against the header and manifest,
  FILE_SIZE and FILE_HASH against the whole payload;
- the metadata signature, over SHA-256 of header and manifest, and the payload signature,
  over SHA-256 of everything before the signatures blob except the metadata signature,
  against the OEM keys the user trusts (the trust store's OEM certificates, or the OTA
  zip's own otacert only when asked).

The whole payload is read once, in chunks, for both file hashes. A signature no trusted
key could check is "not available", never "verified".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..package.keys import OemKey, key_id, load_oem_key
from ..package.trust import TrustStore, oem_signer
from .errors import MissingProperties, PayloadError, PayloadSignatureError, PropertiesMismatch, UnverifiedPayload
from .properties import PayloadProperties
from .reader import Payload

VERIFIED, NOT_AVAILABLE, FAILED = "verified", "not available", "failed"


@dataclass(frozen=True)
class PayloadHashes:
    file_sha256: bytes
    signed_sha256: bytes


@dataclass(frozen=True)
class SignatureStatus:
    status: str
    detail: str
    signer: str = ""  # the label of the OEM key that verified, when one did

    def require(self) -> None:
        """Go on only with a verified signature; the refusal names why not."""
        if self.status == FAILED:
            raise PayloadSignatureError(f"the payload's signature does not verify: {self.detail}",
                                        "Do not flash it: it was changed, or it is not from the maker whose "
                                        "certificate you trust.")
        if self.status == NOT_AVAILABLE:
            raise UnverifiedPayload(f"the payload's signature could not be checked: {self.detail}")


def check_metadata(payload: Payload, properties: PayloadProperties) -> None:
    if properties.metadata_size != payload.header.metadata_size:
        raise PropertiesMismatch(f"payload_properties.txt says the metadata is {properties.metadata_size} bytes; "
                                 f"the payload's is {payload.header.metadata_size}")
    if hashlib.sha256(payload.metadata).digest() != properties.metadata_sha256:
        raise PropertiesMismatch("the payload's metadata (header and manifest) is not the one "
                                 "payload_properties.txt hashed: it was changed")


def hash_payload(payload: Payload, progress: Callable[[int, int], None] | None = None) -> PayloadHashes:
    """SHA-256 of the whole file, and of what the payload signature covers, in one pass."""
    whole, signed = hashlib.sha256(), hashlib.sha256()
    metadata_end, data_start, signed_end = (payload.header.metadata_size, payload.header.data_start,
                                            payload.signed_size)
    done = 0
    for chunk in payload.file.chunks(0, payload.file.size, "the payload"):
        whole.update(chunk)
        # The signed bytes: [0, metadata_end) and [data_start, signed_end) of the file.
        for start, end in ((0, metadata_end), (data_start, signed_end)):
            low, high = max(start, done), min(end, done + len(chunk))
            if low < high:
                signed.update(memoryview(chunk)[low - done:high - done])
        done += len(chunk)
        if progress:
            progress(done, payload.file.size)
    return PayloadHashes(whole.digest(), signed.digest())


def check_file(payload: Payload, properties: PayloadProperties, hashes: PayloadHashes) -> None:
    if properties.file_size != payload.file.size:
        raise PropertiesMismatch(f"payload_properties.txt says the payload is {properties.file_size} bytes; it is "
                                 f"{payload.file.size}")
    if properties.file_sha256 != hashes.file_sha256:
        raise PropertiesMismatch("the payload is not the file payload_properties.txt hashed: it was changed")


def oem_keys(store: TrustStore, payload: Payload, use_otacert: bool) -> list[tuple[str, OemKey]]:
    """The keys a payload's signature is checked with, each with where it came from."""
    found = [(f"trusted OEM certificate {certificate.key_id[:16]}", certificate.public_key)
             for certificate in store.oem_certificates()]
    if use_otacert and (data := payload.otacert()) is not None:
        key = load_oem_key(data, "the OTA zip's otacert")
        found.append((f"the OTA zip's own otacert {key_id(key)[:16]} (trusted by --otacert)", key))
    return found


def signature_status(payload: Payload, hashes: PayloadHashes, keys: list[tuple[str, OemKey]]) -> SignatureStatus:
    if not payload.metadata_signatures or not payload.payload_signatures:
        missing = "metadata" if not payload.metadata_signatures else "payload"
        return SignatureStatus(NOT_AVAILABLE, f"the payload carries no {missing} signature")
    if not keys:
        return SignatureStatus(NOT_AVAILABLE, "no OEM certificate is trusted (tsuf payload trust CERT), and "
                                              "--otacert was not given")
    signer = oem_signer(((hashlib.sha256(payload.metadata).digest(), payload.metadata_signatures),
                         (hashes.signed_sha256, payload.payload_signatures)), keys)
    if signer is not None:
        return SignatureStatus(VERIFIED, f"signed by {signer}", signer)
    names = "; ".join(label for label, _ in keys)
    return SignatureStatus(FAILED, f"the metadata and payload signatures are not both by one of: {names}")


@dataclass(frozen=True)
class Verification:
    """What checking a payload found: its properties and its signature, each verified, not available or failed."""

    hashes: PayloadHashes
    properties_problem: PayloadError | None
    signature: SignatureStatus

    @property
    def properties_status(self) -> tuple[str, str]:
        if self.properties_problem is None:
            return VERIFIED, "sizes and hashes match payload_properties.txt"
        status = NOT_AVAILABLE if isinstance(self.properties_problem, MissingProperties) else FAILED
        return status, str(self.properties_problem)

    def require(self) -> None:
        """Go on only when everything verified: the first refusal names what did not."""
        if self.properties_problem is not None:
            raise self.properties_problem
        self.signature.require()


def verify_payload(payload: Payload, store: TrustStore, *, properties_path: Path | None = None,
                   use_otacert: bool = False, progress: Callable[[int, int], None] | None = None) -> Verification:
    """Every check update_engine makes before applying: properties, both hashes, both signatures."""
    problem: PayloadError | None = None
    try:
        properties = payload.properties(properties_path)
        check_metadata(payload, properties)
    except (MissingProperties, PropertiesMismatch) as error:
        problem, properties = error, None
    hashes = hash_payload(payload, progress)
    if properties is not None:
        try:
            check_file(payload, properties, hashes)
        except PropertiesMismatch as error:
            problem = error
    return Verification(hashes, problem, signature_status(payload, hashes, oem_keys(store, payload, use_otacert)))
