"""The stock AOSP client (Debian's `fastboot`, 29.0.6) against `tsuf emulator`."""

import os
import subprocess


from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import MAX_DOWNLOAD

pytestmark = requires_fastboot


def fastboot(emulator, *args, timeout=60):
    return run_fastboot(emulator.address, *args, timeout=timeout)


def test_getvar_all(emulator_process):
    output = fastboot(emulator_process, "getvar", "all")
    assert "(bootloader) version:0.4" in output
    assert "(bootloader) current-slot:a" in output
    assert "(bootloader) partition-size:system_b:0x600000" in output
    assert "(bootloader) slot-retry-count:a:" in output


def test_raw_image_larger_than_max_download_is_split_and_lands_intact(emulator_process, tmp_path):
    image = tmp_path / "system.img"
    data = os.urandom(6 * MAX_DOWNLOAD)  # 6x max-download-size; also the whole partition
    image.write_bytes(data)
    output = fastboot(emulator_process, "flash", "system", str(image))
    assert "Sending sparse 'system_a' 1/" in output
    assert (emulator_process.folder / "system_a.img").read_bytes() == data


def test_sparse_image_from_img2simg(emulator_process, tmp_path):
    raw = tmp_path / "boot.img"
    data = bytes(512 * 1024) + os.urandom(512 * 1024) + b"\x5a" * (1024 * 1024)
    raw.write_bytes(data)
    simg = tmp_path / "boot.simg"
    subprocess.run(["img2simg", str(raw), str(simg)], check=True)
    fastboot(emulator_process, "flash", "boot_b", str(simg))
    assert (emulator_process.folder / "boot_b.img").read_bytes() == data


def test_erase(emulator_process, tmp_path):
    image = tmp_path / "boot.img"
    image.write_bytes(os.urandom(2 * 1024 * 1024))
    fastboot(emulator_process, "flash", "boot", str(image))
    fastboot(emulator_process, "erase", "boot")
    assert (emulator_process.folder / "boot_a.img").read_bytes() == bytes(2 * 1024 * 1024)


def test_set_active_and_reboot(emulator_process):
    fastboot(emulator_process, "set_active", "b")
    assert "current-slot: b" in fastboot(emulator_process, "getvar", "current-slot")
    output = fastboot(emulator_process, "reboot")
    assert "Rebooting" in output
    result = None
    for _ in range(50):
        result = subprocess.run(["timeout", "5", "fastboot", "-s", emulator_process.address,
                                 "getvar", "slot-successful:b"], capture_output=True, text=True)
        if result.returncode == 0:
            break
    assert "slot-successful:b: yes" in result.stderr
