"""The stock ADB client (Debian's `adb`, 29.0.6) against `tsuf emulator` in recovery over TCP."""

import pytest

from flasher.discovery.waiting import wait_for_fastboot
from flasher.package.archive import PackageReader
from flasher.virtual.handset import Handset
from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.packages import make_keys, make_ota_package, make_package
from tests.support.tools import requires_tool

pytestmark = requires_tool("adb", "adb")


@pytest.fixture
def keyring(tmp_path):
    return make_keys(tmp_path)


def emulator_with_factory_build(tmp_path, keyring, mode: str) -> EmulatorProcess:
    """`tsuf emulator --mode MODE` on a handset whose slot a holds the factory build B120."""
    profile = small_profile(oem_public_key=keyring.oem_public_pem)
    handset = Handset(profile, tmp_path / "handsets" / profile.serialno)
    with PackageReader(make_package(tmp_path, keyring, build="B120", rollback_index=1), keyring.trust_store) as reader:
        assert handset.factory_flash(reader.extract_all_verified(tmp_path)) == "a"
    handset.shutdown()
    return EmulatorProcess(tmp_path / "handsets", profile=profile, mode=mode)


def build_after_reboot(emulator: EmulatorProcess) -> str:
    with wait_for_fastboot(emulator.address, timeout=20) as device:  # the OS, then back to the bootloader
        return device.getvar("build")


@pytest.fixture
def sideloading(tmp_path, keyring, stock_adb):
    emulator = emulator_with_factory_build(tmp_path, keyring, "sideload")
    serial = emulator.adb_address.removeprefix("tcp:")
    connected = stock_adb("connect", serial)
    assert f"connected to {serial}" in connected.stdout, connected.stderr
    assert stock_adb("-s", serial, "wait-for-sideload", timeout=20).returncode == 0
    yield emulator, serial
    emulator.stop()


def test_adb_sideload_installs_an_oem_signed_package_and_the_handset_boots_it(sideloading, stock_adb, keyring,
                                                                              tmp_path):
    emulator, serial = sideloading
    assert stock_adb("-s", serial, "get-state").stdout.strip() == "sideload"
    package = make_ota_package(tmp_path, keyring, build="B130", rollback_index=2)
    result = stock_adb("-s", serial, "sideload", str(package))
    assert result.returncode == 0, result.stderr
    assert "Total xfer: 1.00x" in result.stdout  # each block asked for once
    assert build_after_reboot(emulator) == "B130"


def test_a_package_signed_with_another_key_is_refused_and_the_old_build_boots(sideloading, stock_adb, keyring,
                                                                             tmp_path):
    emulator, serial = sideloading
    package = make_ota_package(tmp_path, keyring, build="B130", rollback_index=2, signer=keyring.signing)
    result = stock_adb("-s", serial, "sideload", str(package))
    assert result.returncode != 0
    assert stock_adb("-s", serial, "get-state").stdout.strip() == "sideload"  # still there, nothing installed
    assert stock_adb("-s", serial, "reboot").returncode == 0
    assert build_after_reboot(emulator) == "B120"


def test_adb_reboot_sideload_from_recovery(tmp_path, keyring, stock_adb):
    emulator = emulator_with_factory_build(tmp_path, keyring, "recovery")
    try:
        serial = emulator.adb_address.removeprefix("tcp:")
        stock_adb("connect", serial)
        assert stock_adb("-s", serial, "wait-for-recovery", timeout=20).returncode == 0
        assert stock_adb("-s", serial, "reboot", "sideload").returncode == 0
        assert stock_adb("-s", serial, "wait-for-sideload", timeout=20).returncode == 0
        assert stock_adb("-s", serial, "reboot", "bootloader").returncode == 0
        assert build_after_reboot(emulator) == "B120"  # the bootloader answers fastboot again
    finally:
        emulator.stop()
