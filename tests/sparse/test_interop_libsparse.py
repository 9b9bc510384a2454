"""TSUF against AOSP's libsparse tools (Debian android-sdk-libsparse-utils).

These tests are never skipped: a missing tool fails them, since agreeing with
libsparse is the point. simg2img given several sparse files applies them in turn
to one output, as a device applies pieces to one partition.
"""

import io
import os
import shutil
import subprocess

import pytest

from flasher.sparse import SparseReader, expand, split, validate, write_sparse

from .conftest import byte_range

BS = 4096


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install android-sdk-libsparse-utils (apt) to run "
                    f"the libsparse interop tests")
    return path


def run(*args):
    subprocess.run([tool(args[0]), *map(str, args[1:])], check=True, capture_output=True)


@pytest.fixture
def image(helpers):
    """About 3 MiB: data, long zero runs, non-zero fills, and an odd-sized tail."""
    return helpers.make_raw([
        ("rand", 100), ("zero", 200), (b"\x01\x02\x03\x04", 30), ("rand", 1), ("zero", 1),
        ("rand", 150), (b"\xff\xff\xff\xff", 50), ("rand", 80), ("zero", 150),
        (b"\x00\x00\x00\x01", 7), ("rand", 3)], seed=7) + os.urandom(1234)


def simg2img(tmp_path, *sparse_files):
    out = tmp_path / "simg2img.out"
    run("simg2img", *sparse_files, out)
    return out.read_bytes()


def write_pieces(tmp_path, pieces, stem="piece"):
    paths = []
    for i, piece in enumerate(pieces):
        path = tmp_path / f"{stem}{i}.simg"
        with open(path, "wb") as f:
            for data in piece.stream():
                f.write(data)
        assert path.stat().st_size == piece.size
        paths.append(path)
    return paths


@pytest.mark.parametrize("use_fill", [True, False])
def test_simg2img_expands_write_sparse_output(tmp_path, helpers, write_file, image, use_fill):
    path = tmp_path / "tsuf.simg"
    with open(path, "wb") as f:
        write_sparse(write_file(image), f, use_fill=use_fill)
    # Block-padded, as img2simg's output expands.
    assert simg2img(tmp_path, path) == helpers.block_pad(image)


@pytest.mark.parametrize("data", [b"", b"x", bytes(BS), bytes(3 * BS + 5)])
def test_simg2img_expands_small_and_empty_images(tmp_path, helpers, write_file, data):
    path = tmp_path / "small.simg"
    with open(path, "wb") as f:
        write_sparse(write_file(data), f)
    assert simg2img(tmp_path, path) == helpers.block_pad(data)


@pytest.mark.parametrize("block_size", [None, 1024, 4096, 65536])
def test_tsuf_reads_img2simg_output(tmp_path, helpers, write_file, image, block_size):
    src = write_file(image)
    simg = tmp_path / "aosp.simg"
    run("img2simg", src, simg, *([block_size] if block_size else []))
    bs = block_size or BS
    with open(simg, "rb") as f:
        summary = validate(f)
        assert summary.expanded_size == len(helpers.block_pad(image, bs))
        out = io.BytesIO()
        expand(f, out)
    assert out.getvalue() == helpers.block_pad(image, bs)


def test_split_raw_image_three_times_the_limit(tmp_path, helpers, write_file):
    image = helpers.make_raw([("rand", 300), ("zero", 100), ("rand", 200), ("zero", 50),
                              ("rand", 300)], seed=3)
    limit = len(image) // 3
    pieces = split(write_file(image), limit)
    assert len(pieces) >= 3
    paths = write_pieces(tmp_path, pieces)
    total = len(image) // BS
    partition = tmp_path / "partition.img"
    partition.write_bytes(b"\xee" * len(image))
    for piece, path in zip(pieces, paths):
        assert path.stat().st_size <= limit
        # Alone, each piece is a sparse file libsparse accepts, right on its own range.
        alone = simg2img(tmp_path, path)
        start, end = byte_range(piece)
        assert len(alone) == len(image) and alone[start:end] == image[start:end]
        with open(path, "rb") as f:
            assert SparseReader(f).total_blocks == total
        # Flashed in turn onto one partition (tsuf's reader plays the device).
        with open(path, "rb") as s, open(partition, "r+b") as d:
            expand(s, d)
    assert partition.read_bytes() == image
    # libsparse applying all pieces in turn agrees.
    assert simg2img(tmp_path, *paths) == image


@pytest.mark.parametrize("use_fill", [True, False])
def test_split_img2simg_output(tmp_path, helpers, write_file, image, use_fill):
    raw = write_file(image)
    simg = tmp_path / "aosp.simg"
    run("img2simg", raw, simg)
    limit = 256 * 1024
    pieces = split(simg, limit, use_fill=use_fill)
    assert len(pieces) > 1
    paths = write_pieces(tmp_path, pieces)
    assert all(p.stat().st_size <= limit for p in paths)
    expect = helpers.block_pad(image)
    assert simg2img(tmp_path, *paths) == expect
    partition = b"\xee" * len(expect)
    for path in paths:
        partition = helpers.expand_bytes(path.read_bytes(), partition)
    assert partition == expect
    for piece, path in zip(pieces, paths):
        start, end = byte_range(piece)
        assert simg2img(tmp_path, path)[start:end] == expect[start:end]


def test_split_without_fill_sends_no_fill_chunks(tmp_path, helpers, write_file, image):
    pieces = split(write_file(image), 300_000, use_fill=False)
    paths = write_pieces(tmp_path, pieces)
    for path in paths:
        with open(path, "rb") as f:
            assert validate(f).fill_blocks == 0
    assert simg2img(tmp_path, *paths) == helpers.block_pad(image)


def test_pieces_are_no_more_than_aosp_makes(tmp_path, write_file, image):
    # simg2simg is libsparse's own resparse (what the fastboot client uses).
    raw = write_file(image)
    simg = tmp_path / "aosp.simg"
    run("img2simg", raw, simg)
    for limit in (100_000, 333_333, 1 << 20):
        run("simg2simg", simg, tmp_path / f"aosp{limit}", limit)
        aosp = list(tmp_path.glob(f"aosp{limit}.*"))
        ours = split(raw, limit)
        assert all(p.stat().st_size <= limit for p in aosp)
        assert len(ours) <= len(aosp)
