"""The stock client's verbs in tsuf (oem, flashing, boot, continue, -w, flashall, reboot edl, vbmeta flags),
against `tsuf emulator`; where Debian's `fastboot` has the same verb, both leave the handset alike."""

import json
import os
import struct
import subprocess

import pytest

from flasher.vbmeta_flags import FLAGS_OFFSET, MAGIC
from tests.cli.test_cli import tsuf
from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import MAX_DOWNLOAD, EmulatorProcess, android_super_empty, small_profile

MiB = 1 << 20


@pytest.fixture
def emulator(tmp_path):
    running = EmulatorProcess(tmp_path / "handsets", profile=small_profile())
    yield running
    running.stop()


@pytest.fixture
def locked(tmp_path):
    running = EmulatorProcess(tmp_path / "locked", profile=small_profile(), locked=True)
    yield running
    running.stop()


def vbmeta_image(path, flags: int = 0):
    """An AVB vbmeta image: the header (magic, flags at byte 120) and a body, as avbtool lays it out."""
    header = bytearray(256)
    header[:4] = MAGIC
    struct.pack_into(">I", header, FLAGS_OFFSET, flags)
    path.write_bytes(bytes(header) + os.urandom(4096 - 256))
    return path


def getvar(address: str, name: str) -> str:
    return json.loads(tsuf("-s", address, "--json", "getvar", name).stdout)[name]


def test_oem_commands_reach_the_bootloader_and_its_refusal_is_named(tmp_path, emulator):
    refused = tsuf("-s", emulator.address, "oem", "device-info", check=False)
    assert refused.returncode == 1 and "oem device-info: device refused: oem is not supported" in refused.stderr
    assert "Traceback" not in refused.stderr
    barebox = EmulatorProcess(tmp_path / "barebox", family="barebox")
    try:
        assert tsuf("-s", barebox.address, "oem", "setenv", "bench=7").returncode == 0
        got = tsuf("-s", barebox.address, "oem", "getenv", "bench")
        assert "(bootloader) 7" in got.stderr
    finally:
        barebox.stop()


@requires_fastboot
def test_oem_setenv_by_tsuf_reads_back_with_the_stock_client(tmp_path):
    barebox = EmulatorProcess(tmp_path / "barebox", family="barebox")
    try:
        tsuf("-s", barebox.address, "oem", "setenv", "station=bench-9")
        assert "(bootloader) bench-9" in run_fastboot(barebox.address, "oem", "getenv", "station")
    finally:
        barebox.stop()


def test_flashing_unlock_warns_erases_the_users_data_and_unlocks(locked):
    assert "get_unlock_ability: 1" in tsuf("-s", locked.address, "flashing", "get_unlock_ability").stderr
    userdata = locked.handsets[0][2] / "userdata.img"
    userdata.write_bytes(b"photos" * 1000 + bytes(4 * MiB - 6000))
    result = tsuf("-s", locked.address, "flashing", "unlock")
    assert "unlocking the bootloader erases all the user's data" in result.stderr
    assert getvar(locked.address, "unlocked") == "yes"
    assert b"photos" not in userdata.read_bytes()
    critical = tsuf("-s", locked.address, "flashing", "unlock_critical", check=False)
    assert critical.returncode == 1 and "not supported on this device" in critical.stderr


@requires_fastboot
def test_flashing_lock_by_tsuf_and_by_the_stock_client_leave_the_same_state(locked):
    tsuf("-s", locked.address, "flashing", "unlock")
    tsuf("-s", locked.address, "flashing", "lock")
    by_tsuf = getvar(locked.address, "unlocked")
    run_fastboot(locked.address, "flashing", "unlock")
    run_fastboot(locked.address, "flashing", "lock")
    assert by_tsuf == getvar(locked.address, "unlocked") == "no"


def test_boot_refuses_an_image_larger_than_one_download_before_sending_it(tmp_path, emulator):
    big = tmp_path / "boot.img"
    big.write_bytes(os.urandom(MAX_DOWNLOAD + 4096))
    result = tsuf("-s", emulator.address, "-v", "boot", str(big), check=False)
    assert result.returncode == 1 and "takes at most 1.0 MiB in one download" in result.stderr
    assert "-> download:" not in result.stderr
    small = tmp_path / "small.img"
    small.write_bytes(os.urandom(64 * 1024))
    refused = tsuf("-s", emulator.address, "boot", str(small), check=False)  # this bootloader has no `boot`
    assert refused.returncode == 1 and "boot: device refused: boot is not supported" in refused.stderr


def test_boot_on_u_boot_sends_and_boots_the_image(tmp_path):
    uboot = EmulatorProcess(tmp_path / "uboot", family="uboot")
    image = tmp_path / "boot.img"
    image.write_bytes(os.urandom(256 * 1024))
    try:
        result = tsuf("-s", uboot.address, "--json", "boot", str(image))
    finally:
        uboot.stop()
    assert json.loads(result.stdout) == {"booting": str(image), "bytes": 256 * 1024}


def test_continue_and_reboot_edl(emulator):
    edl = tsuf("-s", emulator.address, "reboot", "edl", check=False)
    assert edl.returncode == 1 and "reboot-edl: device refused" in edl.stderr
    assert "tsuf oem reboot-edl" in edl.stderr
    assert tsuf("-s", emulator.address, "continue").stdout.strip() == "continuing to boot"


def test_w_alone_erases_the_users_data_and_a_locked_handset_refuses(emulator, locked):
    userdata = emulator.handsets[0][2] / "userdata.img"
    userdata.write_bytes(b"\x5a" * (4 * MiB))
    result = tsuf("-s", emulator.address, "-w")
    assert "erasing all the user's data" in result.stderr and result.stdout.strip() == "erased userdata"
    assert userdata.read_bytes() == bytes(4 * MiB)
    refused = tsuf("-s", locked.address, "-w", check=False)
    assert refused.returncode == 1 and "Erase is not allowed in Lock State" in refused.stderr


def test_vbmeta_flags_are_set_in_what_is_sent_never_in_the_users_file(tmp_path, emulator):
    image = vbmeta_image(tmp_path / "vbmeta.img")
    original = image.read_bytes()
    tsuf("-s", emulator.address, "flash", "vbmeta", str(image), "--disable-verity", "--disable-verification")
    written = (emulator.handsets[0][2] / "vbmeta_a.img").read_bytes()
    assert struct.unpack_from(">I", written, FLAGS_OFFSET)[0] == 3
    assert image.read_bytes() == original
    not_avb = tmp_path / "plain.img"
    not_avb.write_bytes(os.urandom(4096))
    refused = tsuf("-s", emulator.address, "-v", "flash", "vbmeta", str(not_avb), "--disable-verity", check=False)
    assert refused.returncode == 1 and "has no vbmeta header" in refused.stderr and "-> download:" not in refused.stderr
    wrong = tsuf("-s", emulator.address, "flash", "boot", str(image), "--disable-verity", check=False)
    assert wrong.returncode == 1 and "boot_a is not one" in wrong.stderr


@requires_fastboot
def test_vbmeta_flags_match_the_stock_client_byte_for_byte(tmp_path, emulator):
    image = vbmeta_image(tmp_path / "vbmeta.img", flags=0)
    tsuf("-s", emulator.address, "flash", "vbmeta", "--slot", "a", str(image), "--disable-verity",
         "--disable-verification")
    run_fastboot(emulator.address, "--disable-verity", "--disable-verification", "flash", "vbmeta_b", str(image))
    folder = emulator.handsets[0][2]
    assert (folder / "vbmeta_a.img").read_bytes() == (folder / "vbmeta_b.img").read_bytes()


def test_flashall_writes_the_partitions_it_finds_and_refuses_another_products_build(tmp_path, emulator):
    build = tmp_path / "out"
    build.mkdir()
    boot, system = os.urandom(MiB), os.urandom(3 * MiB)
    (build / "boot.img").write_bytes(boot)
    (build / "system.img").write_bytes(system)
    (build / "ramdisk.img").write_bytes(os.urandom(4096))  # built, but no partition of its own
    (build / "android-info.txt").write_text("require board=tsuf_zte_ab\n")
    result = tsuf("-s", emulator.address, "flashall", str(build), "--skip-reboot")
    assert "no such partition on the handset: ramdisk.img" in result.stderr
    folder = emulator.handsets[0][2]
    assert (folder / "boot_a.img").read_bytes()[:MiB] == boot
    assert (folder / "system_a.img").read_bytes()[:3 * MiB] == system
    (build / "android-info.txt").write_text("require board=another_phone\n")
    wrong = tsuf("-s", emulator.address, "flashall", str(build), check=False)
    assert wrong.returncode == 1 and "the images require that product is another_phone" in wrong.stderr
    nothing = tsuf("-s", emulator.address, "flashall", check=False)
    assert nothing.returncode == 1 and "$ANDROID_PRODUCT_OUT is not set" in nothing.stderr
    (build / "android-info.txt").write_text("require board=tsuf_zte_ab\nrequire version-baseband=M9\n")
    old_baseband = tsuf("-s", emulator.address, "flashall", str(build), check=False)
    assert old_baseband.returncode == 1 and "version-baseband is M9" in old_baseband.stderr
    (build / "android-info.txt").write_text("require board=tsuf_zte_ab\n")
    (build / "super_empty.img").write_bytes(bytes(8192))
    damaged = tsuf("-s", emulator.address, "flashall", str(build), check=False)
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr and "super_empty.img" in damaged.stderr
    (build / "super_empty.img").write_bytes(android_super_empty())
    no_super = tsuf("-s", emulator.address, "flashall", str(build), check=False)
    assert no_super.returncode == 1 and "does not offer its super partition" in no_super.stderr


@requires_fastboot
def test_getvar_of_a_missing_variable_exits_1_where_the_stock_client_exits_0(emulator):
    """The difference README.md gives: a script can tell a missing variable from a present one."""
    ours = tsuf("-s", emulator.address, "getvar", "no-such-variable", check=False)
    assert ours.returncode == 1 and "GetVar Variable Not found" in ours.stderr
    stock = subprocess.run(["fastboot", "-s", emulator.address, "getvar", "no-such-variable"],
                           capture_output=True, text=True, timeout=60)
    assert stock.returncode == 0 and "FAILED" in stock.stderr


def test_format_makes_an_ext4_file_system_and_refuses_what_it_cannot_make(emulator):
    raw = tsuf("-s", emulator.address, "format", "userdata", check=False)
    assert raw.returncode == 1 and "userdata is raw" in raw.stderr and "--fs-type ext4" in raw.stderr
    typo = tsuf("-s", emulator.address, "format", "userdat", "--fs-type", "ext4", check=False)
    assert typo.returncode == 1 and "no partition userdat" in typo.stderr
    made = tsuf("-s", emulator.address, "format", "userdata", "--fs-type", "ext4")
    assert made.stdout.strip() == "formatted userdata as ext4 (4.0 MiB)"
    userdata = (emulator.handsets[0][2] / "userdata.img").read_bytes()
    assert userdata[1080:1082] == b"\x53\xef"  # the ext4 superblock's magic
