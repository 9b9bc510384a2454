"""Making sparse images: what write_sparse promises about the image it writes."""

import io
import os
import tracemalloc

import pytest

from flasher.sparse import SourceChangedError, SparseFormatError, SparseReader, write_sparse
from flasher.sparse import format as fmt
from flasher.sparse.runs import scan

BS = 4096


def sparse_of(source, **kw):
    out = io.BytesIO()
    size = write_sparse(source, out, **kw)
    assert size == len(out.getvalue())
    return out.getvalue()


def kinds(data):
    r = SparseReader(io.BytesIO(data))
    return [(c.kind, c.out_length // r.block_size, c.fill) for c in r.chunks()]


@pytest.mark.parametrize("parts", [
    [("rand", 5)],
    [("zero", 7)],
    [(b"\x01\x02\x03\x04", 4)],
    [("rand", 2), ("zero", 3), ("rand", 1), (b"\xde\xad\xbe\xef", 2), ("zero", 1)],
    [("zero", 1), ("rand", 1)] * 6,
])
def test_round_trip(helpers, write_file, parts):
    image = helpers.make_raw(parts)
    assert helpers.expand_bytes(sparse_of(write_file(image))) == image


def test_round_trip_mixed(helpers, write_file, mixed_image):
    for use_fill in (True, False):
        data = sparse_of(write_file(mixed_image), use_fill=use_fill)
        assert helpers.expand_bytes(data) == mixed_image


@pytest.mark.parametrize("size", [1, 3, 4095, BS + 1, 5 * BS - 7])
def test_odd_sizes_are_padded_to_a_whole_block_with_zeros(helpers, write_file, size):
    image = os.urandom(size)
    data = sparse_of(write_file(image))
    out = helpers.expand_bytes(data)
    assert out == helpers.block_pad(image)
    assert SparseReader(io.BytesIO(data)).total_blocks == -(-size // BS)


def test_odd_sized_zero_tail_is_still_zero(helpers, write_file):
    image = os.urandom(BS) + bytes(100)
    out = helpers.expand_bytes(sparse_of(write_file(image)), b"\xee" * 3 * BS)
    assert out == helpers.block_pad(image)


def test_empty_image(helpers, write_file):
    data = sparse_of(write_file(b""))
    assert len(data) == fmt.FILE_HEADER_SIZE
    assert helpers.expand_bytes(data) == b""


def test_constant_blocks_become_fill_and_zeros_are_never_dont_care(helpers, write_file):
    image = helpers.make_raw([("rand", 1), ("zero", 4), (b"\x01\x02\x03\x04", 3), ("zero", 2)])
    data = sparse_of(write_file(image))
    assert kinds(data) == [("raw", 1, None), ("fill", 4, bytes(4)),
                           ("fill", 3, b"\x01\x02\x03\x04"), ("fill", 2, bytes(4))]
    # Flashed over old data, the zero blocks come out zero.
    assert helpers.expand_bytes(data, b"\xee" * 10 * BS) == image


def test_a_big_zero_image_is_tiny(write_file):
    data = sparse_of(write_file(bytes(64 << 20)))
    assert len(data) == fmt.FILE_HEADER_SIZE + fmt.CHUNK_HEADER_SIZE + 4


def test_without_fill_constant_blocks_travel_as_data(helpers, write_file):
    image = helpers.make_raw([("zero", 3), ("rand", 1), (b"abcd", 2)])
    data = sparse_of(write_file(image), use_fill=False)
    assert {k for k, _, _ in kinds(data)} == {"raw"}
    assert helpers.expand_bytes(data, b"\xee" * 6 * BS) == image


def test_sparse_input_is_rewritten_faithfully(helpers, write_file):
    raw = os.urandom(2 * BS)
    src = helpers.build_sparse([("dc", 2), ("raw", raw), ("fill", b"abcd", 2), ("dc", 1),
                                ("crc",)])
    partition = b"\xee" * 7 * BS
    expect = helpers.expand_bytes(src, partition)
    for use_fill in (True, False):
        data = sparse_of(write_file(src), use_fill=use_fill)
        assert helpers.expand_bytes(data, partition) == expect
        assert ("fill" in {k for k, _, _ in kinds(data)}) == use_fill


def test_sparse_input_keeps_its_block_size(helpers, write_file):
    src = helpers.build_sparse([("raw", os.urandom(1024)), ("fill", b"abcd", 3)],
                               block_size=1024)
    data = sparse_of(write_file(src), block_size=4096)
    assert SparseReader(io.BytesIO(data)).block_size == 1024
    assert helpers.expand_bytes(data) == helpers.expand_bytes(src)


def test_malformed_sparse_input_is_refused_not_sent_raw(helpers, write_file):
    bad = helpers.build_sparse([("raw", os.urandom(BS))])[:-1]
    with pytest.raises(SparseFormatError):
        sparse_of(write_file(bad))


@pytest.mark.parametrize("block_size", [4, 8, 512, 1024, 65536])
def test_other_block_sizes(helpers, write_file, block_size):
    image = helpers.make_raw([("rand", 1), ("zero", 2), ("rand", 1), (b"abcd", 3)],
                             block_size) + b"xyz"
    data = sparse_of(write_file(image), block_size=block_size)
    assert helpers.expand_bytes(data) == helpers.block_pad(image, block_size)
    assert ("fill", 3, b"abcd") in kinds(data)


@pytest.mark.parametrize("block_size", [0, 6, -4])
def test_bad_block_size_is_named(write_file, block_size):
    with pytest.raises(fmt.BadBlockSizeError) as info:
        sparse_of(write_file(b"abcd"), block_size=block_size)
    assert info.value.hint


def test_every_kind_of_source(helpers, write_file, mixed_image):
    path = write_file(mixed_image)
    expect = sparse_of(path)
    assert sparse_of(str(path)) == expect
    assert sparse_of(lambda: open(path, "rb")) == expect
    with open(path, "rb") as f:
        f.seek(123)  # position does not matter
        assert sparse_of(f) == expect
    assert sparse_of(io.BytesIO(mixed_image)) == expect


def test_source_changed_after_scan_is_named(write_file, mixed_image):
    from flasher.sparse import split
    path = write_file(mixed_image)
    (piece,) = split(path, 1 << 30)
    path.write_bytes(mixed_image[:-BS])
    with pytest.raises(SourceChangedError) as info:
        b"".join(piece.stream())
    assert info.value.hint


def test_data_runs_longer_than_a_chunk_can_hold_become_several_chunks(
        helpers, write_file, monkeypatch):
    # Real chunks stop just under 4 GiB (total_sz is a uint32); shrink that to 3 blocks.
    from flasher.sparse import split, writer
    monkeypatch.setattr(writer, "MAX_CHUNK_BYTES", 3 * BS + 12)
    image = os.urandom(10 * BS)
    path = write_file(image)
    data = sparse_of(path)
    assert kinds(data) == [("raw", 3, None)] * 3 + [("raw", 1, None)]
    assert helpers.expand_bytes(data) == image
    for limit in (BS + 64, 5 * BS + 100, 1 << 20):
        partition = b"\xee" * len(image)
        for piece in split(path, limit):
            assert piece.size <= limit
            partition = helpers.expand_bytes(b"".join(piece.stream()), partition)
        assert partition == image


def test_run_map_stays_small_for_a_pathological_image(helpers, write_file):
    # Alternating data and zero blocks: the worst case for the run map.
    blocks = 4096
    path = write_file(helpers.make_raw([("rand", 1), ("zero", 1)] * (blocks // 2)))
    tracemalloc.start()
    try:
        runs = scan(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(runs) == blocks
    assert kept < 40 * blocks  # tens of bytes a run: ~10 MB for a 1 GiB alternating image
    assert peak < 12 << 20  # the read buffers, not the image
