"""The stock AOSP client (Debian's `fastboot`, 29.0.6) against every device family of
`tsuf emulator --family`, over TCP and UDP: it reads all variables and flashes an image."""

import os

import pytest

from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import EmulatorProcess, small_profile

pytestmark = requires_fastboot

# What `getvar all` prints on each family: the stock client shows each INFO line verbatim.
ALL_LINES = {
    "reference": ["(bootloader) partition-size:system_b:0x600000", "(bootloader) slot-retry-count:a:"],
    "uboot": ["(bootloader) version-bootloader: U-Boot 2024.04", "(bootloader) max-download-size: 0x00100000",
              "(bootloader) current-slot: a", "(bootloader) platform: platform not set"],
    "barebox": ["(bootloader) partition-size:system: 00600000", "(bootloader) max-download-size: 1048576"],
    "fastbootd": ["(bootloader) is-userspace:yes", "(bootloader) partition-size:system_b:0x600000",
                  "(bootloader) max-download-size:0x10000000"],
    "qualcomm": ["(bootloader) partition-size:system_b: 0x600000", "(bootloader) max-download-size:1048576",
                 "(bootloader) battery-soc-ok:yes"],
}
# Where `fastboot flash boot` lands: A/B families write the current slot.
BOOT_FILE = {"reference": "boot_a.img", "uboot": "boot.img", "barebox": "boot.img",
             "fastbootd": "boot_a.img", "qualcomm": "boot_a.img"}


@pytest.fixture(params=sorted(BOOT_FILE))
def family(request):
    return request.param


@pytest.fixture
def emulator(tmp_path, family):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), udp=True, family=family)
    yield emulator
    emulator.stop()


@pytest.mark.parametrize("link", ["tcp", "udp"])
def test_stock_client_reads_all_variables_and_flashes(emulator, family, link, tmp_path):
    address = emulator.address if link == "tcp" else emulator.udp_address
    output = run_fastboot(address, "getvar", "all")
    for line in ALL_LINES[family]:
        assert line in output
    image = tmp_path / "boot.img"
    data = os.urandom(1_000_003)  # not a whole number of 512-byte blocks
    image.write_bytes(data)
    run_fastboot(address, "flash", "boot", str(image))
    stored = (emulator.folder / BOOT_FILE[family]).read_bytes()
    assert stored[:len(data)] == data
    assert stored[len(data):] == bytes(len(stored) - len(data))  # U-Boot's padding: a fresh buffer's zeros


# fastbootd takes 256 MiB whatever the profile says: nothing here is large enough to split there.
@pytest.mark.parametrize("family", sorted(set(BOOT_FILE) - {"fastbootd"}))
def test_stock_client_splits_an_image_larger_than_max_download(emulator, family, tmp_path):
    image = tmp_path / "system.img"
    data = os.urandom(3 * 1024 * 1024)
    image.write_bytes(data)
    output = run_fastboot(emulator.address, "flash", "system", str(image))
    assert "Sending sparse" in output
    stem = "system_a.img" if family in ("reference", "qualcomm") else "system.img"
    assert (emulator.folder / stem).read_bytes()[:len(data)] == data
