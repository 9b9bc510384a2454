"""The stock AOSP client (Debian's `fastboot`, 29.0.6) against `tsuf emulator --locked`."""

import os
import subprocess

import pytest

from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import EmulatorProcess, small_profile

pytestmark = requires_fastboot


@pytest.fixture
def locked_emulator(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), locked=True)
    yield emulator
    emulator.stop()


def _refused(address: str, *args: str) -> str:
    result = subprocess.run(["timeout", "60", "fastboot", "-s", address, *args], capture_output=True, text=True)
    assert result.returncode != 0, result.stderr
    return result.stderr


def test_a_locked_handset_refuses_the_client_with_the_bootloader_words(locked_emulator, tmp_path):
    image = tmp_path / "boot.img"
    image.write_bytes(os.urandom(1 << 20))
    address = locked_emulator.address
    assert "unlocked: no" in run_fastboot(address, "getvar", "unlocked")
    assert "FAILED (remote: 'Flashing is not allowed in Lock State')" in _refused(address, "flash", "boot", str(image))
    assert "FAILED (remote: 'Erase is not allowed in Lock State')" in _refused(address, "erase", "boot")
    assert (locked_emulator.folder / "boot_a.img").read_bytes() == bytes(2 << 20)


def test_flashing_unlock_from_the_client_then_flash(locked_emulator, tmp_path):
    address = locked_emulator.address
    assert "(bootloader) get_unlock_ability: 1" in run_fastboot(address, "flashing", "get_unlock_ability")
    run_fastboot(address, "flashing", "unlock")
    assert "unlocked: yes" in run_fastboot(address, "getvar", "unlocked")
    image = tmp_path / "boot.img"
    data = os.urandom(1 << 20)
    image.write_bytes(data)
    run_fastboot(address, "flash", "boot", str(image))
    assert (locked_emulator.folder / "boot_a.img").read_bytes()[:len(data)] == data
