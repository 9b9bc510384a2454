"""Makes real Android OTA payloads for tests and benchmarks: protobuf-encoded manifests, xz/bz2/bsdiff data,
RSA signatures as update_engine's signer makes them, payload_properties.txt and the OTA zip around them.

Blobs go to a temporary file as they are made, so a payload of gigabytes never sits in
memory. The hooks for hostile payloads (`data_sha256`, `new_sha256`, `op_type`, raw
operations) let tests make exactly the damage they name, then sign it so the damage
is all that is wrong.
"""

from __future__ import annotations

import base64
import bz2
import datetime
import hashlib
import lzma
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import brotli
import bsdiff4.core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

from flasher.delta.bsdiff import encode_int64, make_patch
from flasher.payload import operations as ops

BLOCK = 4096
CHUNK = 1 << 20


# The protobuf wire format, writing side.

def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def f_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def f_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def f_fixed32(number: int, value: int) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<I", value)


def extent(start: int, count: int) -> bytes:
    return f_varint(1, start) + f_varint(2, count)


def operation(op_type: int, dst: list[tuple[int, int]], *, src: list[tuple[int, int]] = (), data_offset=None,
              data_length=None, data_sha256: bytes = b"", src_sha256: bytes = b"", src_length=None,
              dst_length=None) -> bytes:
    message = f_varint(1, op_type)
    if data_offset is not None:
        message += f_varint(2, data_offset) + f_varint(3, data_length)
    message += b"".join(f_bytes(4, extent(*e)) for e in src)
    if src_length is not None:
        message += f_varint(5, src_length)
    message += b"".join(f_bytes(6, extent(*e)) for e in dst)
    if dst_length is not None:
        message += f_varint(7, dst_length)
    if data_sha256:
        message += f_bytes(8, data_sha256)
    if src_sha256:
        message += f_bytes(9, src_sha256)
    return message


def partition_info(size: int, sha256: bytes) -> bytes:
    return f_varint(1, size) + f_bytes(2, sha256)


def signatures_message(signatures: list[bytes], padded_size: int) -> bytes:
    """Each signature padded to `padded_size` with its unpadded size, so the message's size is known before
    signing (ECDSA signatures vary in length)."""
    return b"".join(f_bytes(1, f_bytes(2, signature.ljust(padded_size, b"\0")) + f_fixed32(3, len(signature)))
                    for signature in signatures)


# Keys: update_engine signs with RSA over a SHA-256 digest, PKCS#1 v1.5.

def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, bits)


def sign_digest(key, digest: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    return key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def max_signature_size(key) -> int:
    # A DER ECDSA signature: two integers of the curve's size, each with a sign byte, and their headers.
    return 2 * (key.curve.key_size // 8 + 3) + 3 if isinstance(key, ec.EllipticCurvePrivateKey) else key.key_size // 8


def certificate_pem(key) -> bytes:
    """A self-signed X.509 certificate, as a build's otacert (releasekey.x509.pem) is."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test OTA key")])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM)


# Data of operations.

def bsdf2_patch(old: bytes, new: bytes, compressor: str = "brotli") -> bytes:
    """A BSDF2 patch (Android's bsdiff format): the header names each stream's compressor."""
    control, diff, extra = bsdiff4.core.diff(old, new)
    kind, compress = {"brotli": (2, brotli.compress), "bz2": (1, bz2.compress), "raw": (0, bytes)}[compressor]
    streams = [compress(control), compress(diff), compress(extra)]
    return (b"BSDF2" + bytes([kind] * 3) + encode_int64(len(streams[0])) + encode_int64(len(streams[1]))
            + encode_int64(len(new)) + b"".join(streams))


@dataclass
class Payload:
    """A payload being written: partitions' manifest messages, and blobs in a temporary file."""

    block_size: int = BLOCK
    minor_version: int = 0
    partitions: list[bytes] = field(default_factory=list)
    dynamic_partition_metadata: bytes | None = None
    """DynamicPartitionMetadata (field 15) as encoded: its partitions live inside super."""

    def __post_init__(self):
        self.blobs = tempfile.TemporaryFile()
        self.blobs_size = 0

    def blob(self, data: bytes) -> tuple[int, int, bytes]:
        offset = self.blobs_size
        self.blobs.seek(offset)
        self.blobs.write(data)
        self.blobs_size += len(data)
        return offset, len(data), hashlib.sha256(data).digest()

    def add_partition(self, name: str, new_size: int, new_sha256: bytes, operations_: list[bytes],
                      old: tuple[int, bytes] | None = None) -> None:
        message = f_bytes(1, name.encode())
        if old is not None:
            message += f_bytes(6, partition_info(*old))
        message += f_bytes(7, partition_info(new_size, new_sha256))
        message += b"".join(f_bytes(8, op) for op in operations_)
        self.partitions.append(message)

    def data_op(self, op_type: int, data: bytes, dst, **extra) -> bytes:
        offset, length, digest = self.blob(data)
        extra.setdefault("data_sha256", digest)
        return operation(op_type, dst, data_offset=offset, data_length=length, **extra)

    def add_full(self, name: str, image, compression: str = "mixed", chunk_blocks: int = 256,
                 new_sha256: bytes | None = None) -> None:
        """A partition as a full payload has it: REPLACE_XZ / REPLACE_BZ / REPLACE chunks, ZERO for zeros.

        `image` is bytes or a path, read a chunk at a time."""
        chunk_size = chunk_blocks * self.block_size
        digest, size, operations_ = hashlib.sha256(), 0, []
        for index, chunk in enumerate(_chunks(image, chunk_size)):
            digest.update(chunk)
            start = size // self.block_size
            size += len(chunk)
            dst = [(start, -(-len(chunk) // self.block_size))]
            if chunk.count(0) == len(chunk):
                operations_.append(operation(ops.ZERO, dst))
                continue
            kind = compression if compression != "mixed" else ("xz", "bz2", "raw")[index % 3]
            if kind == "xz":
                operations_.append(self.data_op(ops.REPLACE_XZ, lzma.compress(chunk, preset=0, check=lzma.CHECK_CRC32),
                                                dst))
            elif kind == "bz2":
                operations_.append(self.data_op(ops.REPLACE_BZ, bz2.compress(chunk), dst))
            else:
                operations_.append(self.data_op(ops.REPLACE, chunk, dst))
        self.add_partition(name, size, new_sha256 or digest.digest(), operations_)

    def add_incremental(self, name: str, old: bytes, new: bytes, diff: str = "mixed",
                        chunk_blocks: int = 16) -> None:
        """A partition as an incremental payload has it: SOURCE_COPY where a chunk did not change, else
        SOURCE_BSDIFF (BSDIFF40) or BROTLI_BSDIFF (BSDF2 with brotli), each with its source hash."""
        assert len(old) % self.block_size == 0 and len(new) % self.block_size == 0
        chunk_size = chunk_blocks * self.block_size
        operations_ = []
        for index, at in enumerate(range(0, len(new), chunk_size)):
            target = new[at:at + chunk_size]
            src_at = min(at, len(old) - len(target))
            source = old[src_at:src_at + len(target)]
            dst = [(at // self.block_size, len(target) // self.block_size)]
            src = [(src_at // self.block_size, len(source) // self.block_size)]
            src_sha256 = hashlib.sha256(source).digest()
            if source == target:
                operations_.append(operation(ops.SOURCE_COPY, dst, src=src, src_sha256=src_sha256))
                continue
            kind = diff if diff != "mixed" else ("bsdiff40", "brotli")[index % 2]
            if kind == "bsdiff40":
                operations_.append(self.data_op(ops.SOURCE_BSDIFF, make_patch(source, target), dst, src=src,
                                                src_sha256=src_sha256, src_length=len(source),
                                                dst_length=len(target)))
            else:
                operations_.append(self.data_op(ops.BROTLI_BSDIFF, bsdf2_patch(source, target), dst, src=src,
                                                src_sha256=src_sha256, src_length=len(source),
                                                dst_length=len(target)))
        self.add_partition(name, len(new), hashlib.sha256(new).digest(), operations_,
                           old=(len(old), hashlib.sha256(old).digest()))

    def write(self, path: Path, key, *, metadata_key=None) -> str:
        """payload.bin at `path`, signed with `key` (metadata too, or with `metadata_key`);
        returns payload_properties.txt."""
        signature_size = max_signature_size(key) if key else 0
        signatures_size = len(signatures_message([bytes(signature_size)], signature_size)) if key else 0
        manifest = f_varint(3, self.block_size)
        if key:
            manifest += f_varint(4, self.blobs_size) + f_varint(5, signatures_size)
        manifest += f_varint(12, self.minor_version) + b"".join(f_bytes(13, p) for p in self.partitions)
        if self.dynamic_partition_metadata is not None:
            manifest += f_bytes(15, self.dynamic_partition_metadata)
        header = b"CrAU" + struct.pack(">QQI", 2, len(manifest), signatures_size)
        metadata = header + manifest
        signed = hashlib.sha256(metadata)
        for chunk in self._blob_chunks():
            signed.update(chunk)
        metadata_signature = payload_signature = b""
        if key:
            metadata_signature = signatures_message([sign_digest(metadata_key or key,
                                                                 hashlib.sha256(metadata).digest())], signature_size)
            payload_signature = signatures_message([sign_digest(key, signed.digest())], signature_size)
        whole = hashlib.sha256()
        with open(path, "wb") as out:
            for piece in (metadata, metadata_signature, *self._blob_chunks(), payload_signature):
                out.write(piece)
                whole.update(piece)
            size = out.tell()
        return (f"FILE_HASH={base64.b64encode(whole.digest()).decode()}\nFILE_SIZE={size}\n"
                f"METADATA_HASH={base64.b64encode(hashlib.sha256(metadata).digest()).decode()}\n"
                f"METADATA_SIZE={len(metadata)}\n")

    def _blob_chunks(self):
        self.blobs.seek(0)
        while chunk := self.blobs.read(CHUNK):
            yield chunk


def _chunks(image, size: int):
    if isinstance(image, (bytes, bytearray)):
        for at in range(0, len(image), size):
            yield bytes(image[at:at + size])
        return
    with open(image, "rb") as file:
        while chunk := file.read(size):
            yield chunk


def ota_zip(path: Path, payload_path: Path, properties: str | None, otacert: bytes | None = None,
            metadata: str = "ota-type=AB\npre-device=testphone\n") -> Path:
    """An A/B OTA package as the build makes it: payload.bin stored (not deflated) beside its properties."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/com/android/metadata", metadata)
        if otacert is not None:
            archive.writestr("META-INF/com/android/otacert", otacert)
        archive.write(payload_path, "payload.bin", compress_type=zipfile.ZIP_STORED)
        if properties is not None:
            archive.writestr("payload_properties.txt", properties)
    return path
