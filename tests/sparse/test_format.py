"""The sparse header rules: what is recognised, what is refused, and how it is explained."""

import struct

import pytest

from flasher.errors import FlasherError
from flasher.sparse import SparseFormatError, is_sparse
from flasher.sparse import format as fmt


def header(**kw):
    fields = dict(magic=0xED26FF3A, major=1, minor=0, file_hdr_sz=28, chunk_hdr_sz=12,
                  blk_sz=4096, total_blks=10, total_chunks=1, checksum=0)
    fields.update(kw)
    return struct.pack("<IHHHHIIII", *fields.values())


def test_is_sparse_recognises_the_magic_only():
    assert is_sparse(header())
    assert is_sparse(b"\x3a\xff\x26\xed")
    assert not is_sparse(b"\x3a\xff\x26")  # too short to tell
    assert not is_sparse(b"")
    assert not is_sparse(b"ANDROID!" + bytes(20))  # a boot image
    assert not is_sparse(bytes(28))


def test_header_round_trip():
    data = fmt.pack_file_header(4096, 123, 7)
    assert len(data) == fmt.FILE_HEADER_SIZE
    h = fmt.unpack_file_header(data)
    assert (h.block_size, h.total_blocks, h.total_chunks) == (4096, 123, 7)
    assert (h.file_hdr_sz, h.chunk_hdr_sz, h.major_version) == (28, 12, 1)
    assert h.expanded_size == 123 * 4096
    c = fmt.unpack_chunk_header(fmt.pack_chunk_header(fmt.CHUNK_FILL, 5, 16))
    assert (c.chunk_type, c.chunk_sz, c.total_sz) == (0xCAC2, 5, 16)


def test_constants_match_libsparse():
    assert fmt.MAGIC == 0xED26FF3A
    assert (fmt.CHUNK_RAW, fmt.CHUNK_FILL, fmt.CHUNK_DONT_CARE, fmt.CHUNK_CRC32) == (
        0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4)
    assert (fmt.FILE_HEADER_SIZE, fmt.CHUNK_HEADER_SIZE) == (28, 12)


def test_minor_versions_and_larger_headers_are_accepted():
    h = fmt.unpack_file_header(header(minor=3, file_hdr_sz=32, chunk_hdr_sz=16))
    assert (h.file_hdr_sz, h.chunk_hdr_sz) == (32, 16)


@pytest.mark.parametrize("data, error, words", [
    (header(magic=0x12345678), fmt.BadMagicError, "magic"),
    (b"", fmt.BadMagicError, "magic"),
    (header(major=2), fmt.UnsupportedVersionError, "version 2"),
    (header(major=0), fmt.UnsupportedVersionError, "version 0"),
    (header(file_hdr_sz=27), fmt.BadHeaderSizeError, "file header size is 27"),
    (header(chunk_hdr_sz=8), fmt.BadHeaderSizeError, "chunk header size is 8"),
    (header(blk_sz=0), fmt.BadBlockSizeError, "block size 0"),
    (header(blk_sz=4094), fmt.BadBlockSizeError, "block size 4094"),
    (header()[:20], fmt.TruncatedImageError, "ends inside its header"),
])
def test_bad_headers_are_named(data, error, words):
    with pytest.raises(error) as info:
        fmt.unpack_file_header(data)
    assert words in str(info.value)
    assert isinstance(info.value, SparseFormatError)
    assert info.value.hint


def test_unknown_chunk_type_is_named():
    with pytest.raises(fmt.UnknownChunkTypeError, match="0xCAC5"):
        fmt.chunk_data_size(0xCAC5, 1, 4096)


def test_chunk_data_sizes_follow_the_type():
    assert fmt.chunk_data_size(fmt.CHUNK_RAW, 3, 4096) == 3 * 4096
    assert fmt.chunk_data_size(fmt.CHUNK_FILL, 1000, 4096) == 4
    assert fmt.chunk_data_size(fmt.CHUNK_DONT_CARE, 1000, 4096) == 0
    assert fmt.chunk_data_size(fmt.CHUNK_CRC32, 0, 4096) == 4


def test_images_too_big_for_the_format_are_refused():
    with pytest.raises(fmt.ImageTooLargeError) as info:
        fmt.pack_file_header(4096, 1 << 32, 1)
    assert info.value.hint


@pytest.mark.parametrize("cls", [
    fmt.SparseFormatError, fmt.BadMagicError, fmt.UnsupportedVersionError,
    fmt.BadHeaderSizeError, fmt.BadBlockSizeError, fmt.BadChunkSizeError, fmt.BlockCountError,
    fmt.TruncatedImageError, fmt.CrcMismatchError, fmt.UnknownChunkTypeError,
    fmt.ImageTooLargeError])
def test_every_error_says_what_to_do(cls):
    err = cls("something happened")
    assert isinstance(err, FlasherError)
    assert str(err) == "something happened"
    assert err.hint
