"""Reading sparse images: the right bytes in the right places, and hostile input refused."""

import io
import os
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasher.sparse import SparseFormatError, SparseReader, expand, validate
from flasher.sparse import format as fmt

BS = 4096


@pytest.fixture
def sample(helpers):
    """A small image with every chunk type, and its expansion."""
    raw1, raw2 = os.urandom(2 * BS), os.urandom(BS)
    data = helpers.build_sparse([
        ("raw", raw1), ("fill", b"\x11\x22\x33\x44", 3), ("dc", 2), ("raw", raw2),
        ("crc",), ("fill", bytes(4), 1)])
    expanded = raw1 + b"\x11\x22\x33\x44" * (3 * BS // 4) + bytes(2 * BS) + raw2 + bytes(BS)
    return data, expanded, raw1, raw2


def test_chunks_are_placed_in_the_expanded_image(sample):
    data, _, raw1, raw2 = sample
    r = SparseReader(io.BytesIO(data))
    assert (r.block_size, r.total_blocks, r.total_chunks) == (BS, 9, 6)
    assert r.expanded_size == 9 * BS
    got = [(c.kind, c.out_offset, c.out_length, c.fill) for c in r.chunks()]
    assert got == [
        ("raw", 0, 2 * BS, None),
        ("fill", 2 * BS, 3 * BS, b"\x11\x22\x33\x44"),
        ("dont_care", 5 * BS, 2 * BS, None),
        ("raw", 7 * BS, BS, None),
        ("crc32", 8 * BS, 0, None),
        ("fill", 8 * BS, BS, bytes(4)),
    ]


def test_raw_data_is_right_whatever_the_caller_skips(sample):
    data, _, raw1, raw2 = sample
    r = SparseReader(io.BytesIO(data))
    raws = [c for c in r.chunks() if c.kind == "raw"]  # no data read while walking
    assert b"".join(r.iter_raw(raws[1])) == raw2
    assert b"".join(r.iter_raw(raws[0], 1000)) == raw1
    assert all(len(p) <= 1000 for p in r.iter_raw(raws[0], 1000))
    assert data[raws[0].source_offset:raws[0].source_offset + 2 * BS] == raw1


def test_iter_raw_refuses_chunks_it_cannot_read(sample):
    data = sample[0]
    r1, r2 = SparseReader(io.BytesIO(data)), SparseReader(io.BytesIO(data))
    chunks = list(r1.chunks())
    with pytest.raises(ValueError):
        list(r2.iter_raw(chunks[0]))  # another reader's chunk
    with pytest.raises(ValueError):
        list(r1.iter_raw(chunks[1]))  # a fill chunk has no raw data


def test_expand_writes_the_image(sample):
    data, expanded, *_ = sample
    dst = io.BytesIO()
    assert expand(io.BytesIO(data), dst) == len(expanded)
    assert dst.getvalue() == expanded


def test_expand_leaves_dont_care_ranges_alone_and_ends_at_the_image_size(sample, helpers):
    data, expanded, *_ = sample
    partition = b"\xee" * (12 * BS)  # longer than the image, full of old data
    out = helpers.expand_bytes(data, partition)
    assert len(out) == len(expanded)
    assert out[5 * BS:7 * BS] == partition[5 * BS:7 * BS]
    assert out[:5 * BS] == expanded[:5 * BS] and out[7 * BS:] == expanded[7 * BS:]


@pytest.mark.parametrize("dst", [io.BytesIO, "file"])
def test_trailing_dont_care_still_gives_the_full_size(helpers, tmp_path, dst):
    raw = os.urandom(BS)
    data = helpers.build_sparse([("raw", raw), ("dc", 3)])
    out = io.BytesIO() if dst is io.BytesIO else open(tmp_path / "out", "w+b")
    with out:
        assert expand(io.BytesIO(data), out) == 4 * BS
        out.seek(0)
        assert out.read() == raw + bytes(3 * BS)


def test_larger_headers_are_skipped(helpers):
    raw = os.urandom(BS)
    data = helpers.build_sparse([("raw", raw), ("fill", b"abcd", 1), ("crc",)],
                                file_hdr_sz=40, chunk_hdr_sz=20)
    assert helpers.expand_bytes(data) == raw + b"abcd" * (BS // 4)


def test_small_block_sizes_work(helpers):
    raw = os.urandom(8)
    data = helpers.build_sparse([("raw", raw), ("dc", 1), ("fill", b"wxyz", 2), ("crc",)],
                                block_size=4)
    assert helpers.expand_bytes(data) == raw + bytes(4) + b"wxyzwxyz"


def test_validate_summarises_and_rewinds(sample):
    data = sample[0]
    f = io.BytesIO(b"junk" + data)
    f.seek(4)
    s = validate(f)
    assert f.tell() == 4
    assert (s.block_size, s.total_blocks, s.total_chunks) == (BS, 9, 6)
    assert (s.raw_blocks, s.fill_blocks, s.dont_care_blocks, s.crc_chunks) == (3, 4, 2, 1)
    assert s.expanded_size == 9 * BS and s.sparse_size == len(data)


def test_an_image_inside_a_larger_file_reads_from_its_own_start(sample):
    data, expanded, *_ = sample
    f = io.BytesIO(b"x" * 100 + data + b"trailing")
    f.seek(100)
    dst = io.BytesIO()
    expand(f, dst)
    assert dst.getvalue() == expanded


def test_empty_image(helpers):
    data = helpers.build_sparse([])
    assert validate(io.BytesIO(data)).expanded_size == 0
    assert helpers.expand_bytes(data) == b""


# -- CRC32 chunks -------------------------------------------------------------

def test_crc_counts_dont_care_as_zeros_like_libsparse(helpers):
    # libsparse's sparse_read.cpp (process_skip_chunk) feeds zeros for DONT_CARE.
    raw = os.urandom(BS)
    good = helpers.build_sparse([("raw", raw), ("dc", 3), ("crc",)])
    validate(io.BytesIO(good))
    skipped = helpers.build_sparse([("raw", raw), ("dc", 3), ("crc",)],
                                   crc_dont_care_as_zero=False)
    with pytest.raises(fmt.CrcMismatchError):
        validate(io.BytesIO(skipped))


def test_crc_covers_fill_chunks_in_full(helpers):
    data = helpers.build_sparse([("fill", b"\x01\x00\x00\x00", 300), ("crc",)])
    validate(io.BytesIO(data))
    one_block_only = zlib.crc32(b"\x01\x00\x00\x00" * (BS // 4))  # libsparse writer's shortcut
    bad = helpers.build_sparse([("fill", b"\x01\x00\x00\x00", 300), ("crc", one_block_only)])
    with pytest.raises(fmt.CrcMismatchError):
        validate(io.BytesIO(bad))


@pytest.mark.parametrize("read_data", [True, False])
def test_bad_crc_is_caught_whether_or_not_data_is_read(helpers, read_data):
    raw = os.urandom(2 * BS)
    good = helpers.build_sparse([("raw", raw), ("crc",), ("raw", raw), ("crc",)])
    bad = bytearray(good)
    bad[40] ^= 1  # first raw chunk's data
    for data, ok in ((good, True), (bytes(bad), False)):
        r = SparseReader(io.BytesIO(data))

        def walk():
            for c in r.chunks():
                if c.kind == "raw" and read_data:
                    for _ in r.iter_raw(c, 100):
                        pass
        if ok:
            walk()
        else:
            with pytest.raises(fmt.CrcMismatchError, match="CRC32 chunk 1"):
                walk()


def test_partly_read_raw_chunk_still_gets_a_true_crc(helpers):
    raw = os.urandom(3 * BS)
    data = helpers.build_sparse([("raw", raw), ("crc",)])
    r = SparseReader(io.BytesIO(data))
    for c in r.chunks():
        if c.kind == "raw":
            next(iter(r.iter_raw(c, 10)))  # read a little, then move on


def test_huge_fill_and_dont_care_crc_is_fast(helpers):
    # 16 TiB of declared fill: the CRC must not hash it byte by byte.
    data = helpers.build_sparse([("fill", b"abcd", 0xFFFF0000), ("crc", 0)], block_size=BS)
    with pytest.raises(fmt.CrcMismatchError):
        validate(io.BytesIO(data))


def test_crc_can_be_ignored(helpers):
    data = helpers.build_sparse([("fill", b"abcd", 2), ("crc", 12345)])
    with pytest.raises(fmt.CrcMismatchError):
        validate(io.BytesIO(data))
    assert validate(io.BytesIO(data), verify_crc=False).crc_chunks == 1


def test_bad_crc_found_by_validate_before_anything_is_written(helpers):
    data = helpers.build_sparse([("fill", b"abcd", 2), ("crc", 1)])
    with pytest.raises(fmt.CrcMismatchError) as info:
        validate(io.BytesIO(data))
    assert "0x00000001" in str(info.value) and info.value.hint


# -- hostile input ------------------------------------------------------------

def structural_faults(helpers):
    raw = os.urandom(BS)
    b, p = helpers.build_sparse, helpers.patched
    return {
        "bad magic": (b([("raw", raw)], magic=0xED26FF3B), fmt.BadMagicError),
        "major 2": (b([("raw", raw)], major=2), fmt.UnsupportedVersionError),
        "chunk header size": (p(b([("raw", raw)]), 10, 8), fmt.BadHeaderSizeError),
        "file header size": (p(b([("raw", raw)]), 8, 20), fmt.BadHeaderSizeError),
        "block size": (p(b([("raw", raw)]), 12, 4095, "<I"), fmt.BadBlockSizeError),
        "raw total_sz short": (b([("chunk", 0xCAC1, 2, 12 + BS, raw)]), fmt.BadChunkSizeError),
        "raw total_sz long": (b([("chunk", 0xCAC1, 1, 12 + 2 * BS, raw + raw)],
                                total_blocks=1), fmt.BadChunkSizeError),
        "fill total_sz": (b([("chunk", 0xCAC2, 1, 20, b"abcdefgh")]), fmt.BadChunkSizeError),
        "dont_care with data": (b([("chunk", 0xCAC3, 1, 16, b"abcd")]), fmt.BadChunkSizeError),
        "crc total_sz": (b([("chunk", 0xCAC4, 0, 12, b"")]), fmt.BadChunkSizeError),
        "crc covering blocks": (b([("chunk", 0xCAC4, 1, 16, b"abcd")]), fmt.BadChunkSizeError),
        "total_sz below header": (b([("chunk", 0xCAC3, 1, 4, b"")]), fmt.BadChunkSizeError),
        "unknown type": (b([("chunk", 0xCAC5, 1, 12, b"")]), fmt.UnknownChunkTypeError),
        "zero type": (b([("chunk", 0, 0, 12, b"")]), fmt.UnknownChunkTypeError),
        "sum short": (b([("raw", raw), ("dc", 1)], total_blocks=3), fmt.BlockCountError),
        "sum long": (b([("raw", raw), ("dc", 5)], total_blocks=3), fmt.BlockCountError),
        "chunk past end": (b([("fill", b"abcd", 0xFFFFFFFF)], total_blocks=10),
                           fmt.BlockCountError),
        "more chunks than file": (b([("raw", raw)], total_chunks=0xFFFFFFFF),
                                  fmt.TruncatedImageError),
        "huge raw": (b([("chunk", 0xCAC1, 0xFFFFF, 12 + 0xFFFFF * BS, b"")]),
                     fmt.TruncatedImageError),
        "huge raw overflow": (b([("chunk", 0xCAC1, 0x100001, 12 + BS, raw)]),
                              fmt.BadChunkSizeError),
        "huge file header": (p(b([("raw", raw)]), 8, 0xFFFF), fmt.TruncatedImageError),
        "huge chunk header": (p(b([("raw", raw)]), 10, 0xFFFF), fmt.TruncatedImageError),
        "huge block count": (p(b([("raw", raw)]), 16, 0xFFFFFFFF, "<I"), fmt.BlockCountError),
    }


def test_structural_faults_are_named_and_nothing_is_written(helpers):
    for name, (data, error) in structural_faults(helpers).items():
        for action in ("validate", "expand", "chunks"):
            partition = io.BytesIO(b"\xee" * BS * 4)
            with pytest.raises(error) as info:
                if action == "validate":
                    validate(io.BytesIO(data))
                elif action == "expand":
                    expand(io.BytesIO(data), partition)
                else:
                    next(iter(SparseReader(io.BytesIO(data)).chunks()))
            assert isinstance(info.value, SparseFormatError), name
            assert str(info.value) and info.value.hint, name
            assert partition.getvalue() == b"\xee" * BS * 4, f"{name}: {action} wrote data"


def test_every_truncation_is_refused(sample):
    data = sample[0]
    for cut in range(len(data)):
        if cut > 200 and cut % 97:  # every header byte, then a sample of data bytes
            continue
        with pytest.raises(SparseFormatError):
            validate(io.BytesIO(data[:cut]))


def test_truncated_raw_data_is_named(helpers):
    data = helpers.build_sparse([("raw", os.urandom(4 * BS))])
    with pytest.raises(fmt.TruncatedImageError, match="chunk 0"):
        validate(io.BytesIO(data[:-1]))


def test_declared_size_above_the_limit_is_refused(helpers):
    data = helpers.build_sparse([("dc", 0xFFFFFFFF)], block_size=1 << 20)
    assert validate(io.BytesIO(data)).expanded_size == 0xFFFFFFFF << 20
    with pytest.raises(fmt.ImageTooLargeError, match="more than the 1048576"):
        validate(io.BytesIO(data), max_size=1 << 20)
    with pytest.raises(fmt.ImageTooLargeError):
        expand(io.BytesIO(data), io.BytesIO(), max_size=1 << 20)


def test_file_that_shrinks_after_the_check_is_refused(helpers, tmp_path):
    raw = os.urandom(4 * BS)
    path = tmp_path / "s.img"
    path.write_bytes(helpers.build_sparse([("raw", raw)]))
    with open(path, "rb") as f:
        r = SparseReader(f)
        chunk = next(iter(r.chunks()))
        os.truncate(path, 100)
        with pytest.raises(fmt.TruncatedImageError):
            list(r.iter_raw(chunk))


HEADER = struct.pack("<IHHHHIIII", 0xED26FF3A, 1, 0, 28, 12, 16, 6, 4, 0)


@given(st.binary(max_size=200), st.integers(0, 8), st.integers(0, 12))
def test_random_bytes_after_a_valid_header_are_read_or_refused(body, chunks, blocks):
    # Chunk-header-shaped noise makes the fuzzer reach past the first check.
    head = struct.pack("<IHHHHIIII", 0xED26FF3A, 1, 0, 28, 12, 16, blocks, chunks, 0)
    for data in (HEADER + body, head + body):
        try:
            s = validate(io.BytesIO(data))
        except SparseFormatError:
            s = None
        try:
            dst = io.BytesIO()
            n = expand(io.BytesIO(data), dst)
        except SparseFormatError:
            assert s is None
        else:
            assert s is not None and n == s.expanded_size == len(dst.getvalue())


@given(st.lists(st.tuples(st.sampled_from([0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4, 0xCAC5]),
                          st.integers(0, 4), st.integers(0, 40), st.binary(max_size=40)),
                max_size=6), st.integers(0, 16))
def test_random_chunk_headers_are_read_or_refused(chunks, total):
    body = b"".join(struct.pack("<HHII", t, 0, n, size) + payload
                    for t, n, size, payload in chunks)
    data = struct.pack("<IHHHHIIII", 0xED26FF3A, 1, 0, 28, 12, 8, total, len(chunks), 0) + body
    try:
        s = validate(io.BytesIO(data))
    except SparseFormatError:
        return
    dst = io.BytesIO()
    assert expand(io.BytesIO(data), dst) == s.expanded_size == total * 8
