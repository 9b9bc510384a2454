"""A whole super image built on the host, as a sparse image: what the stock client's optimized
path flashes to `super` from the bootloader, so a phone is reflashed without fastbootd.

The metadata is super_empty.img's with each logical partition of the slot written sized
to its image; the sparse image carries that metadata (both geometries, every metadata
slot), each image at its partition's extents, and DONT_CARE everywhere else, so the
handset writes only those bytes. Every other logical partition is empty in the new
metadata: this is a reflash of the whole phone, never a way to keep the other slot.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from ..sparse.format import CHUNK_DONT_CARE, CHUNK_HEADER_SIZE, CHUNK_RAW, pack_chunk_header, pack_file_header
from .errors import MetadataInvalid
from .format import SECTOR, Metadata
from .image import write_super
from .layout import resize

COPY_CHUNK = 1 << 20
MAX_RAW_CHUNK_BLOCKS = (1 << 30) // 4096
"""A RAW chunk holds at most 1 GiB here (its size is a 32-bit field; libsparse splits too)."""


def sized_layout(empty: Metadata, images: dict[str, Path]) -> Metadata:
    """super_empty.img's metadata with logical partition NAME sized to `images[NAME]`."""
    metadata = empty
    for name, path in images.items():
        metadata = resize(metadata, name, path.stat().st_size)
    return metadata


def write_super_image(metadata: Metadata, images: dict[str, Path], out: BinaryIO) -> int:
    """The sparse super image for `metadata` (sized by `sized_layout`) with each image at its
    partition's extents; returns its length in bytes."""
    block = metadata.geometry.logical_block_size
    header = io.BytesIO()
    write_super(header, metadata)
    head = header.getvalue()
    pieces: list[tuple[int, int, Path | bytes, int]] = [(0, len(head), head, 0)]  # offset, length, source, skip
    for name, path in images.items():
        done = 0
        for extent in metadata.partition(name).extents:
            length = min(extent.num_sectors * SECTOR, path.stat().st_size - done)
            if length > 0:
                pieces.append((extent.target_data * SECTOR, length, path, done))
            done += extent.num_sectors * SECTOR
    pieces.sort(key=lambda piece: piece[0])
    total_blocks = metadata.super_device.size // block
    chunks: list[tuple[int, int, tuple | None]] = []  # kind, blocks, piece
    cursor = 0
    for piece in pieces:
        start = piece[0] // block
        if piece[0] % block or start < cursor:
            raise MetadataInvalid(f"super's layout puts data at byte {piece[0]}, not on its own "
                                  f"{block}-byte block")
        if start > cursor:
            chunks.append((CHUNK_DONT_CARE, start - cursor, None))
        blocks = -(-piece[1] // block)
        for first in range(0, blocks, MAX_RAW_CHUNK_BLOCKS):
            count = min(MAX_RAW_CHUNK_BLOCKS, blocks - first)
            chunks.append((CHUNK_RAW, count, (piece, first * block, count * block)))
        cursor = start + blocks
    if total_blocks > cursor:
        chunks.append((CHUNK_DONT_CARE, total_blocks - cursor, None))
    written = out.write(pack_file_header(block, total_blocks, len(chunks)))
    for kind, blocks, part in chunks:
        if kind == CHUNK_DONT_CARE:
            written += out.write(pack_chunk_header(CHUNK_DONT_CARE, blocks, CHUNK_HEADER_SIZE))
            continue
        (_, length, source, skip), offset, size = part
        written += out.write(pack_chunk_header(CHUNK_RAW, blocks, CHUNK_HEADER_SIZE + size))
        data_length = max(0, min(size, length - offset))
        if isinstance(source, bytes):
            written += out.write(source[offset:offset + data_length])
        else:
            with open(source, "rb") as image:
                image.seek(skip + offset)
                written += _copy(image, out, data_length)
        written += out.write(bytes(size - data_length))  # the image's last block, completed with zeros
    return written


def _copy(source: BinaryIO, out: BinaryIO, length: int) -> int:
    copied = 0
    while copied < length:
        data = source.read(min(COPY_CHUNK, length - copied))
        if not data:
            raise OSError(f"{getattr(source, 'name', 'an image')} ended while super was being built")
        out.write(data)
        copied += len(data)
    return copied

