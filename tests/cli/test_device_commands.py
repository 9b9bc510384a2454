"""`tsuf flash` and `tsuf erase` on a locked handset (`tsuf emulator --locked`), as a user runs them."""

import os

import pytest

from tests.cli.test_cli import tsuf
from tests.support.handsets import EmulatorProcess, small_profile


@pytest.fixture
def locked_emulator(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), locked=True)
    yield emulator
    emulator.stop()


def test_flash_on_a_locked_handset_gives_the_bootloader_words_and_plain_ones(locked_emulator, tmp_path):
    image = tmp_path / "system.img"
    image.write_bytes(os.urandom(1 << 20))
    result = tsuf("-s", locked_emulator.address, "flash", "system", str(image), check=False)
    assert result.returncode == 1
    assert "flash:system_a: device refused: Flashing is not allowed in Lock State" in result.stderr
    assert "bootloader is locked, so it accepts only the manufacturer's signed updates" in result.stderr
    assert "tsuf update" in result.stderr and "erases all the user's data" in result.stderr
    assert (locked_emulator.folder / "system_a.img").read_bytes() == bytes(6 << 20)


def test_erase_on_a_locked_handset_is_explained_too(locked_emulator):
    result = tsuf("-s", locked_emulator.address, "erase", "userdata", check=False)
    assert result.returncode == 1
    assert "Erase is not allowed in Lock State" in result.stderr
    assert "fastboot flashing unlock" in result.stderr


def test_set_active_on_a_handset_without_slots_is_refused_on_the_host(tmp_path):
    from flasher.virtual.profile import Partition
    profile = small_profile(slot_count=0, partitions=(Partition("boot", 2 << 20, False),
                                                      Partition("system", 6 << 20, False)))
    emulator = EmulatorProcess(tmp_path / "handsets", profile=profile)
    try:
        result = tsuf("-s", emulator.address, "set-active", "b", check=False)
    finally:
        emulator.stop()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "has no A/B slots" in result.stderr and "slot b is active" not in result.stdout


def test_set_active_that_the_bootloader_ignores_fails(tmp_path):
    """A bootloader answering OKAY to set_active and changing nothing (U-Boot)."""
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), faults=("answer:current-slot=a",))
    try:
        result = tsuf("-s", emulator.address, "set-active", "b", check=False)
    finally:
        emulator.stop()
    assert result.returncode == 1
    assert "accepted set_active:b but still reports slot a" in result.stderr


@pytest.mark.parametrize("family", ["reference", "uboot"])
def test_a_partition_the_handset_does_not_have_is_refused_before_any_upload(tmp_path, family):
    """U-Boot lists no partition sizes but answers one for each partition it has: a typo is still caught."""
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), family=family)
    image = tmp_path / "system.img"
    image.write_bytes(os.urandom(3 << 20))
    try:
        result = tsuf("-s", emulator.address, "-v", "flash", "systen", str(image), check=False)
        too_big = tmp_path / "too-big.img"
        too_big.write_bytes(os.urandom(3 << 20))
        boot = tsuf("-s", emulator.address, "flash", "boot", str(too_big), check=False)
    finally:
        emulator.stop()
    assert result.returncode == 1 and "the handset has no partition systen" in result.stderr
    assert "-> download:" not in result.stderr  # refused on the host: nothing was sent
    assert boot.returncode == 1 and "the image is 3.0 MiB, boot" in boot.stderr and "holds 2.0 MiB" in boot.stderr
