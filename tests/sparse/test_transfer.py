"""How an image travels: as it is, one sparse image, or sparse pieces; and the scan that decides."""

import os
import random

import pytest

from flasher.sparse import Piece, RawImage, plan_transfer
from flasher.sparse.runs import DONT_CARE, FILL, RAW, SCAN_BUFFER, scan
from flasher.sparse.transfer import CHUNK_SECONDS, SCAN_RATE
from flasher.transport.base import FileSpan

BS = 4096
LIMIT = 1 << 20


def reference_runs(data: bytes, bs: int = BS) -> list[tuple[int, int, int]]:
    """(kind, blocks, value) per run, block by block and merged: the plain reading of the format."""
    data += bytes(-len(data) % bs)
    runs: list[list[int]] = []
    for block in range(len(data) // bs):
        chunk = data[block * bs:(block + 1) * bs]
        if chunk == chunk[:4] * (bs // 4):
            kind, value = FILL, int.from_bytes(chunk[:4], "little")
        else:
            kind, value = RAW, block * bs
        last = runs[-1] if runs else None
        if last and last[0] == kind and (value == last[2] if kind == FILL else value == last[2] + last[1] * bs):
            last[1] += 1
        else:
            runs.append([kind, 1, value])
    return [tuple(run) for run in runs]


def runs_of(path, bs: int = BS) -> list[tuple[int, int, int]]:
    runs = scan(path, bs)
    return [(runs.kinds[i], runs.end(i) - runs.starts[i], runs.values[i]) for i in range(len(runs))]


def tricky_blocks(count: int, seed: int) -> bytes:
    """Blocks that fool a quick look: equal first words, zero bytes across words, patterns, zeros."""
    rng = random.Random(seed)
    out = bytearray()
    for _ in range(count):
        kind = rng.randrange(7)
        if kind == 0:
            out += bytes(BS * rng.randint(1, 40))  # zero stretches, some across buffer ends
        elif kind == 1:
            out += rng.randbytes(4) * (BS // 4)  # a constant pattern
        elif kind == 2:
            word = rng.randbytes(4)
            out += word * 2 + rng.randbytes(BS - 8)  # starts like a pattern, is data
        elif kind == 3:
            out += word_pattern_then_one_byte_off(rng)
        elif kind == 4:
            out += b"\x00\x00\x01\x00\x00\x00\x00\x02" + rng.randbytes(BS - 8)  # zero bytes straddle words
        elif kind == 5:
            out += bytes(BS - 1) + b"\x01"  # zero but for its last byte
        else:
            out += rng.randbytes(BS * rng.randint(1, 8))
    return bytes(out)


def word_pattern_then_one_byte_off(rng: random.Random) -> bytes:
    block = bytearray(rng.randbytes(4) * (BS // 4))
    block[rng.randrange(8, BS)] ^= 0xFF
    return bytes(block)


@pytest.mark.parametrize("seed", range(4))
def test_the_scan_finds_the_runs_a_block_by_block_reading_finds(write_file, seed):
    data = tricky_blocks(1500, seed)  # several scan buffers
    assert len(data) > 2 * SCAN_BUFFER
    assert runs_of(write_file(data)) == reference_runs(data)


@pytest.mark.parametrize("tail", [1, 5, BS - 1])
def test_the_scan_reads_a_short_last_block_as_if_zero_padded(write_file, tail):
    data = tricky_blocks(30, 9) + b"\x00" * tail
    assert runs_of(write_file(data)) == reference_runs(data)
    data = tricky_blocks(30, 9) + b"\x07" * tail
    assert runs_of(write_file(data)) == reference_runs(data)


def test_the_scan_handles_small_blocks(write_file):
    data = tricky_blocks(50, 3)
    assert runs_of(write_file(data), 4) == reference_runs(data, 4)
    assert runs_of(write_file(data), 8) == reference_runs(data, 8)


def test_an_image_that_fits_and_is_not_whole_blocks_goes_as_it_is(write_file):
    image = write_file(bytes(LIMIT - 3))  # all zeros: sparse would be tiny, but would pad the block
    transfer = plan_transfer(image, LIMIT)
    assert [type(d) for d in transfer.downloads] == [RawImage]
    assert transfer.written_size == LIMIT - 3
    assert b"".join(transfer.downloads[0].stream(1000)) == bytes(LIMIT - 3)


def test_incompressible_data_that_fits_goes_as_it_is(write_file):
    data = os.urandom(LIMIT)
    transfer = plan_transfer(write_file(data), LIMIT)
    assert [type(d) for d in transfer.downloads] == [RawImage]
    assert b"".join(transfer.downloads[0].stream(4096 * 3)) == data


def test_a_zero_heavy_image_of_whole_blocks_that_fits_goes_as_one_sparse_image(write_file, helpers):
    data = os.urandom(64 * BS) + bytes(LIMIT - 64 * BS)
    transfer = plan_transfer(write_file(data), LIMIT)
    assert [type(d) for d in transfer.downloads] == [Piece]
    assert transfer.downloads[0].size < 64 * BS + 100  # the data blocks and a few headers
    assert helpers.expand_bytes(b"".join(transfer.downloads[0].stream()), b"\xee" * LIMIT) == data


def test_over_a_fast_link_a_fragmented_image_that_fits_goes_as_it_is(write_file, helpers):
    # One data block, then three zero blocks, over and over: a sparse image would
    # spare the link three quarters, in 128 chunks the device writes one by one.
    data = b"".join(os.urandom(BS) + bytes(3 * BS) for _ in range(LIMIT // (4 * BS)))
    path = write_file(data)
    sparing_costs_more = LIMIT * 3 / 4 / (127 * CHUNK_SECONDS)  # link bytes/s at which it breaks even
    fast = plan_transfer(path, LIMIT, link_rate=sparing_costs_more * 2)
    assert [type(d) for d in fast.downloads] == [RawImage]
    slow = plan_transfer(path, LIMIT, link_rate=sparing_costs_more / 2)
    assert [type(d) for d in slow.downloads] == [Piece] and slow.downloads[0].chunk_count == 128
    assert helpers.expand_bytes(b"".join(slow.downloads[0].stream()), b"\xee" * LIMIT) == data


def test_to_a_peer_as_fast_as_the_scan_a_zero_heavy_image_goes_as_it_is(write_file):
    """Scanning costs about what sending costs at memory speed, so the scan is skipped."""
    data = os.urandom(64 * BS) + bytes(LIMIT - 64 * BS)
    path = write_file(data)
    assert [type(d) for d in plan_transfer(path, LIMIT, link_rate=SCAN_RATE).downloads] == [RawImage]
    assert [type(d) for d in plan_transfer(path, LIMIT, link_rate=SCAN_RATE / 200).downloads] == [Piece]


def test_without_fill_a_fitting_image_goes_as_it_is(write_file):
    transfer = plan_transfer(write_file(bytes(LIMIT)), LIMIT, use_fill=False)
    assert [type(d) for d in transfer.downloads] == [RawImage]


def test_an_image_larger_than_a_download_goes_as_pieces_padded_to_the_block(write_file, helpers):
    data = os.urandom(3 * LIMIT + 5)
    transfer = plan_transfer(write_file(data), LIMIT)
    assert len(transfer.downloads) >= 4 and all(isinstance(d, Piece) for d in transfer.downloads)
    assert transfer.written_size == 3 * LIMIT + BS
    partition = b"\xee" * len(data)
    for piece in transfer.downloads:
        partition = helpers.expand_bytes(b"".join(piece.stream()), partition)
    assert partition[:len(data)] == data
    assert partition[len(data):] == bytes(BS - 5)  # the pieces span whole blocks, no further


def test_a_sparse_image_keeps_its_dont_care(write_file, helpers):
    sparse = helpers.build_sparse([("raw", os.urandom(2 * BS)), ("dc", 10), ("fill", b"\x01\x02\x03\x04", 5)])
    transfer = plan_transfer(write_file(sparse), LIMIT)
    assert [type(d) for d in transfer.downloads] == [Piece]
    assert DONT_CARE in scan(write_file(sparse)).kinds
    assert transfer.written_size == 17 * BS


def test_an_image_that_shrinks_while_sent_raw_is_a_named_error(tmp_path):
    from flasher.sparse import SourceChangedError
    path = tmp_path / "image.img"
    path.write_bytes(os.urandom(10_000))
    transfer = plan_transfer(path, LIMIT)
    path.write_bytes(os.urandom(5_000))
    with pytest.raises(SourceChangedError):
        b"".join(transfer.downloads[0].stream(4096))


def joined(parts, lengths=None, kinds=None) -> bytes:
    """The bytes of spans and headers, read while the spans are open (they are until the next)."""
    out = bytearray()
    for part in parts:
        out += part.read() if isinstance(part, FileSpan) else part
        if lengths is not None:
            lengths.append(len(part))
            kinds.add(type(part))
    return bytes(out)


@pytest.mark.parametrize("use_fill", [True, False])
@pytest.mark.parametrize("tail", [0, 5])
def test_spans_carry_the_same_bytes_as_the_stream(write_file, mixed_image, use_fill, tail):
    path = write_file(mixed_image + os.urandom(tail))
    for piece in plan_transfer(path, 5 * BS + 100, use_fill=use_fill).downloads:
        lengths, kinds = [], set()
        assert joined(piece.spans(3 * BS), lengths, kinds) == b"".join(piece.stream())
        assert max(lengths) <= 3 * BS
        assert FileSpan in kinds


def test_spans_of_a_sparse_source_without_fill_carry_the_pattern_as_data(write_file, helpers):
    sparse = helpers.build_sparse([("fill", b"\x01\x02\x03\x04", 5), ("raw", os.urandom(2 * BS))])
    [piece] = plan_transfer(write_file(sparse), LIMIT, use_fill=False).downloads
    assert joined(piece.spans(BS + 7)) == b"".join(piece.stream())


def test_a_raw_image_as_spans_is_its_bytes(write_file):
    data = os.urandom(10_000)
    [raw] = plan_transfer(write_file(data), LIMIT).downloads
    assert joined(raw.spans(4096)) == data


def chunk_kinds(piece) -> set[str]:
    import io

    from flasher.sparse import SparseReader
    return {chunk.kind for chunk in SparseReader(io.BytesIO(b"".join(piece.stream()))).chunks()}


def test_a_larger_image_with_constant_blocks_sends_them_as_fill(write_file):
    data = (os.urandom(BS) + bytes(BS)) * (3 * LIMIT // (2 * BS))
    transfer = plan_transfer(write_file(data), LIMIT)
    assert "fill" in set().union(*(chunk_kinds(piece) for piece in transfer.downloads))


def test_a_larger_image_without_constant_blocks_is_cut_by_size_alone(write_file, helpers):
    data = os.urandom(3 * LIMIT)
    transfer = plan_transfer(write_file(data), LIMIT)
    assert all(chunk_kinds(piece) <= {"raw", "dont_care"} for piece in transfer.downloads)
    partition = b"\xee" * len(data)
    for piece in transfer.downloads:
        partition = helpers.expand_bytes(b"".join(piece.stream()), partition)
    assert partition == data
