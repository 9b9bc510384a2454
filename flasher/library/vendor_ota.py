"""A vendor OTA zip (payload.bin) in the firmware library, summarised like a package.

Its product and builds come from META-INF/com/android/metadata, whether it is full or
incremental from the payload's manifest, and its signer from the payload's signatures
checked as `tsuf update` checks them (payload/verify.py, OEM certificates in the trust
store only). Checking a signature needs the SHA-256 of the whole payload, which can be
gigabytes: it is taken once, when the file is first indexed, and kept in the index, so a
later scan re-checks the signatures of an unchanged file against the trust store of the
day (a certificate trusted or revoked since) by reading only its header and signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..package.schema import IDENTIFIER
from ..package.summary import OTA_FULL, OTA_INCREMENTAL, VENDOR_OTA, PackageSummary
from ..package.trust import TrustStore
from ..payload.ota_metadata import OtaMetadataMissing, read_metadata
from ..payload.reader import Payload, read_payload
from ..payload.verify import (FAILED, VERIFIED, PayloadHashes, SignatureStatus, oem_keys, signature_status,
                              verify_payload)

NOT_TRUSTED, NOT_AVAILABLE = "not trusted", "not available"  # a vendor OTA's signer when no trusted key verified


class UnusableOtaMetadata(OtaMetadataMissing):
    """The metadata names no build, or a product or build in more than letters, digits and ._+-."""


@dataclass(frozen=True)
class IndexedOta:
    summary: PackageSummary
    signer: str
    payload_sha256: str  # of the whole payload.bin (its FILE_HASH)
    signed_sha256: str  # of what the payload signature covers


def index_vendor_ota(path: Path, trust_store: TrustStore) -> IndexedOta:
    """The OTA's summary and signer, its payload hashed once; a PayloadError when `tsuf update` could
    never take it (damaged, properties missing or not matching, metadata naming no product or build)."""
    payload = read_payload(path)
    summary = _summary(path, payload)
    verification = verify_payload(payload, trust_store)
    if verification.properties_problem is not None:
        raise verification.properties_problem
    hashes = verification.hashes
    return IndexedOta(summary, _signer_of(verification.signature), hashes.file_sha256.hex(),
                      hashes.signed_sha256.hex())


def signer_now(path: Path, trust_store: TrustStore, payload_sha256: str, signed_sha256: str) -> str:
    """The signer of an unchanged, already hashed OTA by today's trust store; nothing hashed again."""
    payload = read_payload(path)
    hashes = PayloadHashes(bytes.fromhex(payload_sha256), bytes.fromhex(signed_sha256))
    return _signer_of(signature_status(payload, hashes, oem_keys(trust_store, payload, use_otacert=False)))


def _signer_of(status: SignatureStatus) -> str:
    if status.status == VERIFIED:
        return status.signer
    return NOT_TRUSTED if status.status == FAILED else NOT_AVAILABLE


def _summary(path: Path, payload: Payload) -> PackageSummary:
    metadata = read_metadata(payload.file)
    for what, value in (("product (pre-device)", metadata.product), ("build (post-build)", metadata.build)):
        if not IDENTIFIER.match(value):
            raise UnusableOtaMetadata(f"{path.name}: its metadata's {what} {value[:40]!r} is not 1 to 128 letters, "
                                  "digits and ._+-")
    full = payload.manifest.full
    source = None if full else (metadata.source_build or None)
    if source and not IDENTIFIER.match(source):
        raise UnusableOtaMetadata(f"{path.name}: its metadata's source build (pre-build) {source[:40]!r} is not "
                              "1 to 128 letters, digits and ._+-")
    return PackageSummary(package_id=f"ota-{metadata.product}-{metadata.build}"[:64], product=metadata.product,
                          hw_revisions=(), build=metadata.build, rollback_index=None,
                          type=OTA_FULL if full else OTA_INCREMENTAL, source_build=source, kind=VENDOR_OTA)
