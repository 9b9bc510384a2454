"""The Android sparse image format: its numbers, its headers and its errors.

Everything else in this package agrees on the format through this module, so a
header is packed and checked in exactly one place. All fields are little-endian,
as libsparse writes them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import FlasherError

MAGIC = 0xED26FF3A
MAJOR_VERSION = 1
MINOR_VERSION = 0

FILE_HEADER_SIZE = 28
CHUNK_HEADER_SIZE = 12

CHUNK_RAW = 0xCAC1
CHUNK_FILL = 0xCAC2
CHUNK_DONT_CARE = 0xCAC3
CHUNK_CRC32 = 0xCAC4

CHUNK_KINDS = {
    CHUNK_RAW: "raw",
    CHUNK_FILL: "fill",
    CHUNK_DONT_CARE: "dont_care",
    CHUNK_CRC32: "crc32",
}

# Fields are uint32: one chunk's byte count and the image's block count cannot exceed this.
U32_MAX = 0xFFFFFFFF

_FILE_HEADER = struct.Struct("<IHHHHIIII")
_CHUNK_HEADER = struct.Struct("<HHII")
_MAGIC = struct.Struct("<I")

_REBUILD = "Rebuild the image (img2simg, or the vendor's tools) or download it again."


class SparseFormatError(FlasherError):
    """A sparse image is malformed or cannot be used; nothing should be written from it."""

    hint = _REBUILD


class BadMagicError(SparseFormatError):
    """The data does not start with the sparse magic number."""

    hint = "This is not an Android sparse image; flash it as a raw image or pick the right file."


class UnsupportedVersionError(SparseFormatError):
    """The sparse major version is not 1."""

    hint = "Convert the image with a current simg2img/img2simg; TSUF reads sparse format 1.x."


class BadHeaderSizeError(SparseFormatError):
    """file_hdr_sz or chunk_hdr_sz is smaller than the format's own headers."""


class BadBlockSizeError(SparseFormatError):
    """The block size is zero or not a multiple of 4."""

    hint = "Use a block size that is a non-zero multiple of 4 (4096 for Android images)."


class BadChunkSizeError(SparseFormatError):
    """A chunk's total_sz disagrees with its type and chunk_sz."""


class BlockCountError(SparseFormatError):
    """The chunks do not add up to total_blks, or one runs past it."""


class TruncatedImageError(SparseFormatError):
    """The file ends before the image does."""

    hint = "The file is incomplete; download or copy it again."


class CrcMismatchError(SparseFormatError):
    """A CRC32 chunk does not match the data before it."""

    hint = "The image is corrupt; download or copy it again."


class UnknownChunkTypeError(SparseFormatError):
    """A chunk has a type this format does not define."""


class ImageTooLargeError(SparseFormatError):
    """The image expands to more than the caller allows (or than the format can hold)."""

    hint = "Use an image made for this partition, or a larger partition."


@dataclass(frozen=True)
class FileHeader:
    major_version: int
    minor_version: int
    file_hdr_sz: int
    chunk_hdr_sz: int
    block_size: int
    total_blocks: int
    total_chunks: int
    image_checksum: int

    @property
    def expanded_size(self) -> int:
        return self.total_blocks * self.block_size


@dataclass(frozen=True)
class ChunkHeader:
    chunk_type: int
    reserved: int
    chunk_sz: int
    total_sz: int


def is_sparse(head: bytes) -> bool:
    """True if `head` (the first bytes of a file, at least 4) starts with the sparse magic."""
    return len(head) >= 4 and _MAGIC.unpack_from(head)[0] == MAGIC


def check_block_size(block_size: int) -> None:
    if not isinstance(block_size, int) or block_size <= 0 or block_size % 4:
        raise BadBlockSizeError(f"block size {block_size!r} is not a non-zero multiple of 4")


def pack_file_header(block_size: int, total_blocks: int, total_chunks: int,
                     image_checksum: int = 0) -> bytes:
    check_block_size(block_size)
    if total_blocks > U32_MAX:
        raise ImageTooLargeError(
            f"{total_blocks} blocks of {block_size} bytes do not fit in a sparse image "
            f"(at most {U32_MAX} blocks)",
            hint="Use a larger block size or a smaller image.")
    if total_chunks > U32_MAX:
        raise ImageTooLargeError(f"{total_chunks} chunks do not fit in a sparse image",
                                 hint="Split the image into smaller pieces.")
    return _FILE_HEADER.pack(MAGIC, MAJOR_VERSION, MINOR_VERSION, FILE_HEADER_SIZE,
                             CHUNK_HEADER_SIZE, block_size, total_blocks, total_chunks,
                             image_checksum)


def unpack_file_header(data: bytes) -> FileHeader:
    """Parse and check a file header; raises a SparseFormatError naming the first fault."""
    if len(data) < 4 or not is_sparse(data):
        raise BadMagicError("not a sparse image: the file does not start with magic 0xED26FF3A")
    if len(data) < FILE_HEADER_SIZE:
        raise TruncatedImageError(
            f"sparse image ends inside its header ({len(data)} of {FILE_HEADER_SIZE} bytes)")
    (_, major, minor, file_hdr_sz, chunk_hdr_sz, block_size, total_blocks, total_chunks,
     checksum) = _FILE_HEADER.unpack_from(data)
    if major != MAJOR_VERSION:
        raise UnsupportedVersionError(
            f"sparse image has major version {major}; only version {MAJOR_VERSION} is supported")
    if file_hdr_sz < FILE_HEADER_SIZE:
        raise BadHeaderSizeError(
            f"sparse file header size is {file_hdr_sz} bytes, less than {FILE_HEADER_SIZE}")
    if chunk_hdr_sz < CHUNK_HEADER_SIZE:
        raise BadHeaderSizeError(
            f"sparse chunk header size is {chunk_hdr_sz} bytes, less than {CHUNK_HEADER_SIZE}")
    if block_size == 0 or block_size % 4:
        raise BadBlockSizeError(
            f"sparse image block size {block_size} is not a non-zero multiple of 4",
            hint=_REBUILD)
    return FileHeader(major, minor, file_hdr_sz, chunk_hdr_sz, block_size, total_blocks,
                      total_chunks, checksum)


def pack_chunk_header(chunk_type: int, chunk_sz: int, total_sz: int) -> bytes:
    return _CHUNK_HEADER.pack(chunk_type, 0, chunk_sz, total_sz)


def unpack_chunk_header(data: bytes) -> ChunkHeader:
    if len(data) < CHUNK_HEADER_SIZE:
        raise TruncatedImageError(
            f"sparse image ends inside a chunk header ({len(data)} of {CHUNK_HEADER_SIZE} bytes)")
    return ChunkHeader(*_CHUNK_HEADER.unpack_from(data))


def chunk_data_size(chunk_type: int, chunk_sz: int, block_size: int) -> int:
    """Bytes of data that must follow a chunk header of this type (libsparse's rules)."""
    if chunk_type == CHUNK_RAW:
        return chunk_sz * block_size
    if chunk_type in (CHUNK_FILL, CHUNK_CRC32):
        return 4
    if chunk_type == CHUNK_DONT_CARE:
        return 0
    raise UnknownChunkTypeError(f"unknown sparse chunk type 0x{chunk_type:04X}")
