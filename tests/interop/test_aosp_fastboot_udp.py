"""The stock AOSP client (Debian's `fastboot`, 29.0.6) against `tsuf emulator --udp`."""

import os

import pytest

from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import MAX_DOWNLOAD, EmulatorProcess, small_profile

pytestmark = requires_fastboot


@pytest.fixture
def emulator(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), udp=True)
    yield emulator
    emulator.stop()


def fastboot(emulator, *args, timeout=60):
    return run_fastboot(emulator.udp_address, *args, timeout=timeout)


def test_getvar_all(emulator):
    output = fastboot(emulator, "getvar", "all")
    assert "(bootloader) version:0.4" in output
    assert "(bootloader) partition-size:system_b:0x600000" in output
    assert "(bootloader) max-download-size:0x100000" in output


def test_raw_image_larger_than_max_download_is_split_and_lands_intact(emulator, tmp_path):
    image = tmp_path / "system.img"
    data = os.urandom(6 * MAX_DOWNLOAD)
    image.write_bytes(data)
    output = fastboot(emulator, "flash", "system", str(image))
    assert "Sending sparse 'system_a' 1/" in output
    assert (emulator.folder / "system_a.img").read_bytes() == data


def test_set_active(emulator):
    fastboot(emulator, "set_active", "b")
    assert "current-slot: b" in fastboot(emulator, "getvar", "current-slot")
