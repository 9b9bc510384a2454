"""Shared builders for sparse tests: hand-made sparse images and raw test images."""

from __future__ import annotations

import os
import random
import struct
import zlib

import pytest

BS = 4096


def build_sparse(chunks, *, block_size=BS, total_blocks=None, total_chunks=None,
                 file_hdr_sz=28, chunk_hdr_sz=12, major=1, magic=0xED26FF3A,
                 crc_dont_care_as_zero=True):
    """Assemble a sparse image byte by byte, independently of the code under test.

    chunks: ("raw", data) | ("fill", pattern4, blocks) | ("dc", blocks) | ("crc",) (the
    correct running CRC) | ("crc", value) | ("chunk", type, chunk_sz, total_sz, payload)
    for arbitrary (possibly wrong) headers.
    """
    body = bytearray()
    blocks = 0
    crc = 0
    pad = bytes(chunk_hdr_sz - 12)

    def header(ctype, csz, total):
        return struct.pack("<HHII", ctype, 0, csz, total) + pad

    for c in chunks:
        kind = c[0]
        if kind == "raw":
            data = c[1]
            n = len(data) // block_size
            body += header(0xCAC1, n, chunk_hdr_sz + len(data)) + data
            crc = None if crc is None else zlib.crc32(data, crc)
            blocks += n
        elif kind == "fill":
            pattern, n = c[1], c[2]
            body += header(0xCAC2, n, chunk_hdr_sz + 4) + pattern
            # Huge declared fills (hostile-input tests) get no true CRC.
            big = n * block_size > 1 << 26
            crc = None if big or crc is None else zlib.crc32(pattern * (n * block_size // 4), crc)
            blocks += n
        elif kind == "dc":
            n = c[1]
            body += header(0xCAC3, n, chunk_hdr_sz)
            if crc_dont_care_as_zero and crc is not None:
                big = n * block_size > 1 << 26
                crc = None if big else zlib.crc32(bytes(n * block_size), crc)
            blocks += n
        elif kind == "crc":
            value = c[1] if len(c) > 1 else crc
            assert value is not None, "give huge images' CRC chunks an explicit value"
            body += header(0xCAC4, 0, chunk_hdr_sz + 4) + struct.pack("<I", value)
        elif kind == "chunk":
            _, ctype, csz, total, payload = c
            body += header(ctype, csz, total) + payload
            blocks += csz
        else:
            raise ValueError(kind)
    head = struct.pack("<IHHHHIIII", magic, major, 0, file_hdr_sz, chunk_hdr_sz, block_size,
                       blocks if total_blocks is None else total_blocks,
                       len(chunks) if total_chunks is None else total_chunks, 0)
    return head + bytes(file_hdr_sz - 28) + bytes(body)


def patched(data: bytes, offset: int, value: int, fmt: str = "<H") -> bytes:
    """`data` with one little-endian field overwritten (to forge bad headers)."""
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def make_raw(parts, block_size=BS, seed=0):
    """A raw image from a list of (kind, blocks) parts: rand, zero, or a 4-byte pattern."""
    rng = random.Random(seed)
    out = bytearray()
    for kind, n in parts:
        if kind == "rand":
            out += rng.randbytes(n * block_size)
        elif kind == "zero":
            out += bytes(n * block_size)
        else:
            out += kind * (n * block_size // 4)
    return bytes(out)


# A mixed image every test can use: data, zero runs, non-zero fills, all adjacent.
MIXED_PARTS = [("rand", 3), ("zero", 5), (b"\x01\x02\x03\x04", 2), ("rand", 1), ("zero", 1),
               (b"\xff\xff\xff\xff", 3), ("rand", 4), (b"\xaa\xbb\xaa\xbb", 1), ("zero", 2)]


@pytest.fixture
def mixed_image():
    return make_raw(MIXED_PARTS)


@pytest.fixture
def write_file(tmp_path):
    counter = iter(range(1_000_000))

    def write(data, name=None):
        path = tmp_path / (name or f"file{next(counter)}.img")
        path.write_bytes(data)
        return path
    return write


def expand_bytes(data: bytes, base: bytes | None = None) -> bytes:
    """Expand sparse `data` with tsuf onto `base` (a pre-filled 'partition'), return the result."""
    import io

    from flasher.sparse import expand
    dst = io.BytesIO(base or b"")
    expand(io.BytesIO(data), dst)
    return dst.getvalue()


def byte_range(piece) -> tuple[int, int]:
    """The bytes of the expanded image a split piece is responsible for."""
    return piece.start_block * piece.block_size, piece.end_block * piece.block_size


def block_pad(data: bytes, block_size=BS) -> bytes:
    return data + bytes(-len(data) % block_size)


@pytest.fixture
def helpers():
    class H:
        pass
    h = H()
    h.build_sparse = build_sparse
    h.patched = patched
    h.make_raw = make_raw
    h.expand_bytes = expand_bytes
    h.block_pad = block_pad
    h.BS = BS
    h.urandom = os.urandom
    return h
