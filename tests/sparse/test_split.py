"""Cutting images to max-download-size: every piece fits, and flashed in turn they make the image."""

import io
import os

import pytest

from flasher.sparse import LimitTooSmallError, SparseReader, split, validate

from .conftest import byte_range

BS = 4096


def flash_in_turn(helpers, pieces, partition):
    """What a device does: expand each piece onto the same partition, in order."""
    for piece in pieces:
        partition = helpers.expand_bytes(b"".join(piece.stream()), partition)
    return partition


def check_pieces(pieces, limit, total_blocks):
    for piece in pieces:
        data = b"".join(piece.stream())
        assert len(data) == piece.size <= limit
        r = SparseReader(io.BytesIO(data))
        assert r.total_blocks == total_blocks  # every piece spans the whole image
        validate(io.BytesIO(data))


@pytest.mark.parametrize("limit", [BS + 64, 3 * BS, 10_000, 5 * BS + 100, 1 << 20])
@pytest.mark.parametrize("use_fill", [True, False])
def test_pieces_fit_and_rebuild_the_image(helpers, write_file, mixed_image, limit, use_fill):
    pieces = split(write_file(mixed_image), limit, use_fill=use_fill)
    check_pieces(pieces, limit, len(mixed_image) // BS)
    partition = b"\xee" * len(mixed_image)  # old data everywhere
    assert flash_in_turn(helpers, pieces, partition) == mixed_image


def test_three_times_the_limit_needs_at_least_three_pieces(helpers, write_file):
    image = os.urandom(3 << 20)
    limit = 1 << 20
    pieces = split(write_file(image), limit)
    assert len(pieces) >= 3
    check_pieces(pieces, limit, len(image) // BS)
    assert flash_in_turn(helpers, pieces, None) == image


def test_pieces_are_as_full_as_the_limit_allows(helpers, write_file):
    image = os.urandom(40 * BS) + helpers.make_raw([("zero", 5), ("rand", 30)])
    limit = 7 * BS + 1000
    pieces = split(write_file(image), limit)
    # Every piece but the last was closed because the next block could not fit.
    for piece in pieces[:-1]:
        assert piece.size > limit - BS - 64


def test_pieces_carry_disjoint_ranges_covering_the_image(write_file, mixed_image):
    pieces = split(write_file(mixed_image), 3 * BS)
    ranges = [byte_range(p) for p in pieces]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(mixed_image)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_each_piece_writes_only_its_own_range(helpers, write_file, mixed_image):
    partition = b"\xee" * len(mixed_image)
    for piece in split(write_file(mixed_image), 2 * BS + 100):
        start, end = byte_range(piece)
        out = helpers.expand_bytes(b"".join(piece.stream()), partition)
        assert out[start:end] == mixed_image[start:end]
        assert out[:start] == partition[:start] and out[end:] == partition[end:]


@pytest.mark.parametrize("piece_size", [1, 7, 100, BS, BS + 3, 1 << 20])
def test_stream_pieces_have_the_requested_size(write_file, mixed_image, piece_size):
    (piece, *_) = split(write_file(mixed_image), 5 * BS)
    parts = list(piece.stream(piece_size))
    assert all(len(p) == piece_size for p in parts[:-1])
    assert 0 < len(parts[-1]) <= piece_size
    assert sum(map(len, parts)) == piece.size
    assert b"".join(parts) == b"".join(piece.stream())


def test_a_roomy_limit_gives_one_piece_equal_to_write_sparse(write_file, mixed_image):
    from flasher.sparse import write_sparse
    path = write_file(mixed_image)
    (piece,) = split(path, 1 << 30)
    out = io.BytesIO()
    write_sparse(path, out)
    assert b"".join(piece.stream()) == out.getvalue()


def test_odd_sized_image(helpers, write_file):
    image = os.urandom(5 * BS + 123)
    pieces = split(write_file(image), 2 * BS + 64)
    assert flash_in_turn(helpers, pieces, b"\xee" * 6 * BS) == helpers.block_pad(image)


def test_empty_image(helpers, write_file):
    (piece,) = split(write_file(b""), 100)
    assert helpers.expand_bytes(b"".join(piece.stream())) == b""


def test_sparse_source_dont_care_stays_dont_care(helpers, write_file):
    raw = os.urandom(6 * BS)
    src = helpers.build_sparse([("dc", 3), ("raw", raw), ("dc", 2), ("fill", b"abcd", 4),
                                ("raw", raw), ("dc", 1)])
    partition = b"\xee" * 22 * BS
    expect = helpers.expand_bytes(src, partition)
    for use_fill in (True, False):
        for limit in (BS + 64, 3 * BS, 10 * BS):
            pieces = split(write_file(src), limit, use_fill=use_fill)
            check_pieces(pieces, limit, 22)
            assert flash_in_turn(helpers, pieces, partition) == expect


def test_all_dont_care_source(helpers, write_file):
    src = helpers.build_sparse([("dc", 5)])
    (piece,) = split(write_file(src), 1000)
    assert helpers.expand_bytes(b"".join(piece.stream()), b"\xee" * 5 * BS) == b"\xee" * 5 * BS


def test_limit_too_small_for_one_block_is_named(write_file, mixed_image):
    path = write_file(mixed_image)
    for limit in (0, -1, 100, BS, BS + 63):
        with pytest.raises(LimitTooSmallError) as info:
            split(path, limit)
        assert info.value.hint
    assert split(path, BS + 64)  # header + leading/trailing DONT_CARE + one block


def test_limit_too_small_for_a_fill_only_image(write_file):
    with pytest.raises(LimitTooSmallError, match="cannot carry even one"):
        split(write_file(bytes(10 * BS)), 43)
    assert len(split(write_file(bytes(10 * BS)), 44)) == 1  # header + one FILL chunk
