"""What a flash leaves past the image's last byte: tsuf and the stock AOSP client side by side.

Each flash goes to a partition first filled with known bytes, written straight
into the virtual handset's storage, and the whole stored partition is read back.
"""

import os
import subprocess
import sys

import pytest

from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import MAX_DOWNLOAD

pytestmark = requires_fastboot

BLOCK = 4096
KNOWN = bytes(range(1, 252))  # no zero byte: a zeroed byte shows
# Sizes off the block grid, below and above max-download-size (1 MiB in the test profile).
SMALL = 1_000_003
LARGE = 3 * MAX_DOWNLOAD + 5


def fill_partition(path) -> bytes:
    size = path.stat().st_size
    known = (KNOWN * (size // len(KNOWN) + 1))[:size]
    path.write_bytes(known)
    return known


def tsuf_flash(address: str, partition: str, image) -> None:
    result = subprocess.run([sys.executable, "-m", "flasher.cli.main", "-s", address, "flash", partition,
                             str(image)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def flash_with(client: str, emulator, image) -> bytes:
    """Flash `image` to system_a with `client` over a partition of known bytes; the partition after."""
    stored = emulator.folder / "system_a.img"
    fill_partition(stored)
    if client == "tsuf":
        tsuf_flash(emulator.address, "system_a", image)
    else:
        run_fastboot(emulator.address, "flash", "system_a", str(image))
    return stored.read_bytes()


@pytest.mark.parametrize("client", ["tsuf", "aosp"])
def test_an_image_that_fits_one_download_leaves_the_rest_of_the_partition_alone(emulator_process, tmp_path,
                                                                                 client):
    image = tmp_path / "odd.img"
    data = os.urandom(SMALL)
    image.write_bytes(data)
    known = fill_partition(emulator_process.folder / "system_a.img")
    after = flash_with(client, emulator_process, image)
    assert after[:SMALL] == data
    assert after[SMALL:] == known[SMALL:]


def test_a_larger_image_zeroes_only_the_rest_of_its_last_block(emulator_process, tmp_path):
    # Sparse data is whole blocks, so the last one is completed with zeros, as libsparse
    # completes a short data chunk; nothing past that block changes.
    image = tmp_path / "odd.img"
    data = os.urandom(LARGE)
    image.write_bytes(data)
    known = fill_partition(emulator_process.folder / "system_a.img")
    block_end = -(-LARGE // BLOCK) * BLOCK
    after = flash_with("tsuf", emulator_process, image)
    assert after[:LARGE] == data
    assert after[LARGE:block_end] == bytes(block_end - LARGE)
    assert after[block_end:] == known[block_end:]


def test_the_stock_client_cannot_cut_such_an_image_and_writes_nothing(emulator_process, tmp_path):
    # fastboot 29.0.6 resparses it into pieces whose DONT_CARE tail is not whole blocks:
    # libsparse refuses to write that chunk, the device gets a cut-short piece and refuses it.
    image = tmp_path / "odd.img"
    image.write_bytes(os.urandom(LARGE))
    known = fill_partition(emulator_process.folder / "system_a.img")
    result = subprocess.run(["timeout", "60", "fastboot", "-s", emulator_process.address, "flash", "system_a",
                             str(image)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "not a multiple of the block size" in result.stderr
    assert (emulator_process.folder / "system_a.img").read_bytes() == known


@pytest.mark.parametrize("size", [SMALL, MAX_DOWNLOAD - 1, MAX_DOWNLOAD, MAX_DOWNLOAD + BLOCK, 2 * MAX_DOWNLOAD])
def test_tsuf_leaves_the_partition_as_the_stock_client_does(emulator_process, tmp_path, size):
    image = tmp_path / "image.img"
    # Data with a zero stretch in the middle, so FILL chunks may travel where they pay.
    third = size // 3
    image.write_bytes(os.urandom(third) + bytes(third) + os.urandom(size - 2 * third))
    by_aosp = flash_with("aosp", emulator_process, image)
    by_tsuf = flash_with("tsuf", emulator_process, image)
    assert by_tsuf == by_aosp
