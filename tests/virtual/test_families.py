"""Device families on the wire: each answers with its real counterpart's variables and words."""

import dataclasses
import io
import os
import subprocess
import sys
import time

import pytest

from flasher import sparse
from flasher.fastboot import FastbootDevice
from flasher.transport.errors import TransportError
from flasher.virtual.families import FAMILY_NAMES, family_named
from flasher.virtual.handset import Handset, Mode
from flasher.virtual.profile import DeviceProfile, KiB, MiB, Partition, ProfileError
from tests.support.handsets import FAST_TIMING, EmulatorProcess, RunningHandset, UsbHandsets, small_profile
from tests.support.wire import Wire

SETTLE = 1.0  # longer than FAST_TIMING's whole reboot, boot and Android stay


@pytest.fixture
def open_handset(tmp_path):
    started = []

    def start(family, profile=None, **kwargs):
        running = RunningHandset(tmp_path / f"handset-{len(started)}", profile, family=family, **kwargs)
        started.append(running)
        return running
    yield start
    for running in started:
        running.stop()



def _back_in(running, mode: Mode) -> Wire:
    """A session with the handset once it is back in `mode` (it may still be going down)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if running.handset.mode is mode:
            wire = None
            try:
                wire = Wire(running.address)
                wire.command("getvar:version")  # the session before the reboot may still be ending
                return wire
            except TransportError:  # answered OKAY and was only then going down
                if wire:
                    wire.close()
        time.sleep(0.02)
    raise AssertionError(f"the handset did not come back in {mode.value}")


def _stays_in_the_os(running) -> None:
    assert running.handset.wait_for_mode(Mode.ANDROID, 10)
    time.sleep(SETTLE)
    assert running.handset.mode is Mode.ANDROID


# -- every family ------------------------------------------------------------------

def test_reference_is_the_default_family(tmp_path):
    handset = Handset(small_profile(), tmp_path / "h", timing=FAST_TIMING)
    assert handset.family.name == "reference"
    assert small_profile().family == "reference"


def test_a_family_object_overrides_the_profile(tmp_path):
    handset = Handset(small_profile(family="qualcomm"), tmp_path / "h", family=family_named("uboot"))
    assert handset.family.name == handset.profile.family == "uboot"
    assert handset.profile.slot_count == 0  # a U-Boot board has no A/B


def test_unknown_family_and_bad_cost_scale_are_profile_errors():
    with pytest.raises(ProfileError, match="family 'lk' is not one of"):
        small_profile(family="lk")
    with pytest.raises(ProfileError, match="cost_scale"):
        small_profile(cost_scale=-1)
    data = small_profile(family="barebox", cost_scale=1).to_dict()
    assert DeviceProfile.from_dict(data).family == "barebox"


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_flashes_a_raw_image_over_tcp(open_handset, family):
    running = open_handset(family)
    data = os.urandom(64 * KiB)
    stem = "boot_a" if running.handset.profile.slot_count == 2 else "boot"
    with Wire(running.address) as wire:
        replies = wire.download(data)
        assert replies[-1].startswith(b"OKAY")
        assert wire.last(f"flash:{stem}").startswith(b"OKAY")
    assert running.partition(stem)[:len(data)] == data


@pytest.mark.parametrize("family", ["uboot", "barebox", "fastbootd", "qualcomm"])
def test_every_family_answers_on_emulated_usb(tmp_path, family):
    handsets = UsbHandsets(tmp_path / "usb", family=family)
    try:
        data = os.urandom(32 * KiB)
        stem = "boot_a" if handsets.handset.profile.slot_count == 2 else "boot"
        with FastbootDevice.open(handsets.address) as device:
            assert device.command("getvar:version") == "0.4"
            device.download(len(data), [data])
            device.command(f"flash:{stem}")
        assert handsets.handset.storage.path(stem).read_bytes()[:len(data)] == data
    finally:
        handsets.stop()


@pytest.mark.parametrize("family", ["uboot", "qualcomm"])
def test_tsuf_emulator_family_serves_serial_and_udp(tmp_path, family):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), udp=True, serial=True,
                               family=family)
    try:
        for address in (emulator.serial_address, emulator.udp_address):
            with FastbootDevice.open(address) as device:
                assert device.command("getvar:version") == "0.4"
                expected = "0x00100000" if family == "uboot" else "1048576"
                assert device.command("getvar:max-download-size") == expected
    finally:
        emulator.stop()


def test_cost_scale_makes_the_device_take_its_modelled_time(open_handset):
    running = open_handset("uboot", small_profile(cost_scale=2.0))
    costs = running.handset.family.costs
    data = os.urandom(1000 * KiB)
    with Wire(running.address) as wire:
        wire.download(data)
        started = time.monotonic()
        wire.last("flash:boot")
        elapsed = time.monotonic() - started
    modelled = 2.0 * (costs.command + costs.seconds_to_write(-(-len(data) // 512) * 512, 1))
    assert modelled > 2.0 * len(data) / costs.write_rate
    assert elapsed >= modelled  # a lower bound only: a busy machine is slower, never faster


# -- U-Boot ------------------------------------------------------------------------

def test_uboot_variables(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        assert wire.last("getvar:max-download-size") == b"OKAY0x00100000"
        assert wire.last("getvar:downloadsize") == b"OKAY0x00100000"
        assert wire.last("getvar:partition-size:boot") == b"OKAY0x0000000000200000"
        assert wire.last("getvar:current-slot") == b"OKAYa"  # "A/B not implemented"
        assert wire.last("getvar:has-slot:boot") == b"OKAYno"
        assert wire.last("getvar:has-slot:nope") == b"FAILpartition not found"
        assert wire.last("getvar:partition-type:boot") == b"FAILfailed to set partition"
        assert wire.last("getvar:version-baseband") == b"OKAYN/A"
        assert wire.last("getvar:product") == b"OKAYtsuf_zte_ab"
        assert wire.last("getvar:platform") == b"FAILplatform not set"
        for name in ("slot-count", "unlocked", "build", "battery-voltage", "hw-revision", "serial"):
            assert wire.last(f"getvar:{name}") == b"FAILVariable not implemented"


def test_uboot_getvar_all(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        assert wire.command("getvar:all") == [
            b"INFOversion: 0.4", b"INFOversion-bootloader: U-Boot 2024.04", b"INFOdownloadsize: 0x00100000",
            b"INFOmax-download-size: 0x00100000", b"INFOserialno: VH000001", b"INFOversion-baseband: N/A",
            b"INFOproduct: tsuf_zte_ab", b"INFOplatform: platform not set", b"INFOcurrent-slot: a",
            b"INFOis-userspace: no", b"OKAY"]


def test_uboot_refusals(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        for command in ("fetch:boot", "upload", "oem unlock", "flashing unlock", "shutdown"):
            assert wire.last(command) == b"FAILunrecognized command"
        assert wire.last("reboot-fastboot") == b"FAILCannot set fastboot flag"
        assert wire.last("reboot-recovery") == b"FAILCannot set recovery flag"
        assert wire.last("download:00000000") == b"FAILExpected nonzero image size"
        assert wire.last("download:00200000") == b"FAIL00200000"
        assert wire.last("flash:nope") == b"FAILcannot find partition"
        assert wire.last("erase:nope") == b"FAILcannot find partition"


def test_uboot_set_active_answers_okay_and_changes_nothing(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        assert wire.last("set_active:b") == b"OKAY"
        assert wire.last("getvar:current-slot") == b"OKAYa"
    assert not (running.handset.root / "slots.json").exists()


def test_uboot_rounds_a_raw_write_up_to_whole_blocks_from_its_buffer(open_handset):
    running = open_handset("uboot")
    earlier = os.urandom(MiB)
    image = os.urandom(1_000_003)
    end = -(-len(image) // 512) * 512  # 1,000,448
    with Wire(running.address) as wire:
        wire.download(earlier)
        wire.download(image)
        assert wire.last("flash:boot") == b"OKAY"
    stored = running.partition("boot")
    assert stored[:len(image)] == image
    assert stored[len(image):end] == earlier[len(image):end]  # what the RAM buffer held
    assert stored[end:] == bytes(len(stored) - end)


def test_uboot_flash_keeps_the_download(open_handset):
    running = open_handset("uboot")
    data = os.urandom(8 * KiB)
    with Wire(running.address) as wire:
        wire.download(data)
        assert wire.last("flash:misc") == b"OKAY"
        assert wire.last("flash:vbmeta") == b"OKAY"
    assert running.partition("misc")[:len(data)] == running.partition("vbmeta")[:len(data)] == data


def test_uboot_refuses_images_larger_than_the_partition(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        wire.download(os.urandom(64 * KiB + 1))
        assert wire.last("flash:misc") == b"FAILtoo large for partition"


def _sparse_image(tmp_path, data: bytes) -> bytes:
    raw = tmp_path / "image.raw"
    raw.write_bytes(data)
    out = io.BytesIO()
    sparse.write_sparse(raw, out)
    return out.getvalue()


def test_uboot_writes_sparse_images(open_handset, tmp_path):
    running = open_handset("uboot")
    data = bytes(256 * KiB) + os.urandom(256 * KiB) + b"\x5a" * (512 * KiB)
    with Wire(running.address) as wire:
        wire.download(_sparse_image(tmp_path, data))
        assert wire.last("flash:boot") == b"OKAY"
        wire.download(_sparse_image(tmp_path, b"\x01" * (4 * MiB)))  # FILL: small file, big image
        assert wire.last("flash:boot") == b"FAILRequest would exceed partition size!"
    assert running.partition("boot")[:len(data)] == data


def test_uboot_reboot_runs_the_os_and_stays(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        assert wire.last("reboot") == b"OKAY"
    _stays_in_the_os(running)


def test_uboot_reboot_bootloader_comes_back(open_handset):
    running = open_handset("uboot")
    with Wire(running.address) as wire:
        assert wire.last("reboot-bootloader") == b"OKAY"
    with _back_in(running, Mode.BOOTLOADER) as wire:
        assert wire.last("getvar:version") == b"OKAY0.4"


# -- barebox -----------------------------------------------------------------------

def test_barebox_variables(open_handset):
    running = open_handset("barebox")
    with Wire(running.address) as wire:
        assert wire.last("getvar:partition-size:boot") == b"OKAY00200000"
        assert wire.last("getvar:partition-type:boot") == b"OKAYbasic"
        assert wire.last("getvar:max-download-size") == b"OKAY1048576"
        assert wire.last("getvar:bootloader-version") == b"OKAYbarebox-2024.05.0"
        for name in ("serialno", "product", "current-slot", "has-slot:boot", "version-bootloader"):
            assert wire.last(f"getvar:{name}") == b"OKAY"  # unknown: an empty OKAY


def test_barebox_getvar_all_has_spaces_and_no_0x(open_handset):
    running = open_handset("barebox")
    with Wire(running.address) as wire:
        replies = wire.command("getvar:all")
    assert replies[:4] == [b"INFOversion: 0.4", b"INFObootloader-version: barebox-2024.05.0",
                           b"INFOmax-download-size: 1048576", b"INFOpartition-size:boot: 00200000"]
    assert b"INFOpartition-type:userdata: basic" in replies
    assert replies[-1] == b"OKAY"


def test_barebox_refusals(open_handset):
    running = open_handset("barebox")
    with Wire(running.address) as wire:
        assert wire.last("set_active:b") == b"FAILunknown command set_active:b"
        assert wire.last("fetch:boot") == b"FAILunknown command fetch:boot"
        assert wire.last("continue") == b"FAILunknown command continue"
        assert wire.command("erase:boot") == [
            b"INFOErasing boot...",
            b"FAILcannot erase partition /dev/mmc0.boot: Operation not suppor"]  # cut to 64 bytes
        assert wire.command("flash:nope") == [b"INFOCopying file to nope...", b"FAILNo such partition: nope"]


def test_barebox_download_and_flash_say_what_they_do(open_handset):
    running = open_handset("barebox")
    data = os.urandom(1_000_003)
    with Wire(running.address) as wire:
        assert wire.download(data) == [b"INFODownloading 1000003 bytes...", b"DATA000f4243",
                                       b"INFODownloading 1000003 bytes finished", b"OKAY"]
        assert wire.command("flash:boot") == [b"INFOCopying file to boot...", b"OKAY"]
    stored = running.partition("boot")
    assert stored[:len(data)] == data and stored[len(data):] == bytes(len(stored) - len(data))


def test_barebox_settings_are_lost_at_reboot(open_handset):
    running = open_handset("barebox")
    with Wire(running.address) as wire:
        assert wire.last("oem setenv global.boot.default=net") == b"OKAY"
        assert wire.command("oem getenv global.boot.default") == [b"INFOnet", b"OKAY"]
        assert wire.last("reboot-bootloader") == b"OKAY"  # barebox only knows `reboot`
    _stays_in_the_os(running)
    assert running.handset.volatile == {}


# -- fastbootd ---------------------------------------------------------------------

def _with_vendor_boot(**changes):
    profile = small_profile(**changes)
    return dataclasses.replace(profile, partitions=profile.partitions + (Partition("vendor_boot", 40 * KiB, True),))


def test_fastbootd_powers_on_in_userspace_with_its_own_variables(open_handset):
    running = open_handset("fastbootd", _with_vendor_boot())
    assert running.handset.mode is Mode.FASTBOOTD
    with Wire(running.address) as wire:
        assert wire.last("getvar:is-userspace") == b"OKAYyes"
        assert wire.last("getvar:max-download-size") == b"OKAY0x10000000"
        assert wire.last("getvar:partition-size:vendor_boot_a") == b"OKAY0xA000"
        assert wire.last("getvar:partition-size:boot") == b"FAILCould not open partition"
        assert wire.last("getvar:is-logical:system_b") == b"OKAYno"
        assert wire.last("getvar:is-logical:nope") == b"FAILPartition not found"
        assert wire.last("getvar:super-partition-name") == b"OKAYsuper"
        assert wire.last("getvar:snapshot-update-status") == b"OKAYnone"
        assert wire.last("getvar:slot-count") == b"OKAY2"
        assert wire.last("getvar:current-slot") == b"OKAYa"
        assert wire.last("getvar:has-slot:boot") == b"OKAYyes"
        assert wire.last("getvar:has-slot:misc") == b"OKAYno"
        assert wire.last("getvar:slot-successful:z") == b"OKAYno"
        assert wire.last("getvar:slot-successful:ab") == b"FAILInvalid slot"
        assert wire.last("getvar:build") == b"FAILUnknown variable"
        replies = wire.command("getvar:all")
    assert b"INFOis-userspace:yes" in replies
    assert b"INFOpartition-size:system_b:0x600000" in replies
    assert b"INFOhas-slot:boot:yes" in replies


def test_fastbootd_refusals(open_handset):
    running = open_handset("fastbootd", _with_vendor_boot())
    with Wire(running.address) as wire:
        assert wire.last("fetch:vendor_boot_a") == b"FAILFetch is not allowed on user build"
        assert wire.last("upload") == b"FAILUnrecognized command upload"
        assert wire.last("flashing unlock") == b"FAILUnrecognized command flashing unlock"
        assert wire.last("download:100") == b"FAILInvalid size (length of size != 8)"
        assert wire.last("download:10000001") == b"FAILInvalid size"
        assert wire.last("set_active:c") == b"FAILSlot out of range"
        assert wire.last("set_active:_b") == b"FAILBad slot suffix"
        assert wire.last("erase:nope") == b"FAILPartition doesn't exist"
        wire.download(os.urandom(4 * KiB))
        assert wire.last("flash:boot") == b"FAILNo such file or directory"  # fastbootd adds no slot
        assert wire.last("flash:boot_b") == b"OKAYFlashing succeeded"
        assert wire.last("erase:boot_b") == b"OKAYErasing succeeded"


def test_fastbootd_refuses_everything_that_writes_when_locked(open_handset):
    running = open_handset("fastbootd", small_profile(unlocked=False))
    with Wire(running.address) as wire:
        assert wire.last("download:00001000") == b"FAILDownload is not allowed on locked devices"
        assert wire.last("flash:boot_a") == b"FAILFlashing is not allowed on locked devices"
        assert wire.last("erase:boot_a") == b"FAILErase is not allowed on locked devices"
        assert wire.last("set_active:b") == b"FAILset_active command is not allowed on locked devices"


def test_fastbootd_userdebug_fetches_vendor_boot_only(open_handset):
    running = open_handset("fastbootd-userdebug", _with_vendor_boot())
    data = os.urandom(40 * KiB)
    with Wire(running.address) as wire:
        wire.download(data)
        assert wire.last("flash:vendor_boot_a") == b"OKAYFlashing succeeded"
        assert wire.last("fetch:boot_a") == (
            b"FAILFetch is only allowed on [vendor_boot, vendor_boot_a, vendor_boot_b]")
        replies, fetched = wire.upload_after("fetch:vendor_boot_a:0x00001000:0x00002000")
    assert fetched == data[0x1000:0x3000]
    assert replies[-1] == b"OKAYFetched vendor_boot_a (offset=0x1000, size=0x2000"


def test_fastbootd_reboot_bootloader_reaches_the_phones_bootloader(open_handset):
    running = open_handset("fastbootd")
    with Wire(running.address) as wire:
        assert wire.last("reboot-bootloader") == b"OKAYRebooting bootloader"
    with _back_in(running, Mode.BOOTLOADER) as wire:
        assert wire.last("getvar:is-userspace") == b"OKAYno"
        assert wire.last("getvar:nope") == b"FAILGetVar Variable Not found"
        assert wire.last("reboot-fastboot") == b"OKAY"
    with _back_in(running, Mode.FASTBOOTD) as wire:
        assert wire.last("getvar:is-userspace") == b"OKAYyes"


def test_fastbootd_reboot_boots_android_and_stays(open_handset):
    running = open_handset("fastbootd")
    with Wire(running.address) as wire:
        assert wire.last("reboot") == b"OKAYRebooting"
    _stays_in_the_os(running)


# -- Qualcomm ABL ------------------------------------------------------------------

def test_qualcomm_variables(open_handset):
    running = open_handset("qualcomm")
    with Wire(running.address) as wire:
        assert wire.last("getvar:max-download-size") == b"OKAY1048576"
        assert wire.last("getvar:partition-size:boot_a") == b"OKAY 0x200000"  # ABL's leading space
        assert wire.last("getvar:slot-retry-count:b") == b"OKAY0"
        assert wire.last("getvar:slot-unbootable:b") == b"OKAYyes"
        assert wire.last("getvar:battery-voltage") == b"OKAY4012"
        assert wire.last("getvar:battery-soc-ok") == b"OKAYyes"
        assert wire.last("getvar:unlocked") == b"OKAYyes"
        assert wire.last("getvar:secure") == b"OKAYyes"
        for name in ("build", "rollback-index", "partition-size:boot", "max-fetch-size"):
            assert wire.last(f"getvar:{name}") == b"FAILGetVar Variable Not found"
        replies = wire.command("getvar:all")
        assert b"INFOpartition-size:system_b: 0x600000" in replies
        assert b"INFOcurrent-slot:a" in replies
        assert wire.command("getvar:al") == replies  # ABL compares only the argument's length


def test_qualcomm_refusals(open_handset):
    running = open_handset("qualcomm")
    with Wire(running.address) as wire:
        for command in ("fetch:boot_a", "upload", "oem device-info", "boot", "reboot:bootloader"):
            assert wire.last(command) == b"FAILunknown command"
        assert wire.last("download:00100001") == b"FAILRequested download size is more than max allowed\n"
        wire.download(os.urandom(4 * KiB))
        assert wire.last("flash:nope") == b"FAIL(nope) No such partition"
        assert wire.last("erase:nope") == b"FAILCheck device console."


def test_qualcomm_locked_words(open_handset):
    running = open_handset("qualcomm", small_profile(unlocked=False))
    with Wire(running.address) as wire:
        assert wire.last("getvar:unlocked") == b"OKAYno"
        wire.download(os.urandom(4 * KiB))
        assert wire.last("flash:boot_a") == b"FAILFlashing is not allowed in Lock State"
        assert wire.last("erase:boot_a") == b"FAILErase is not allowed in Lock State"
        assert wire.last("set_active:b") == b"FAILSlot Change is not allowed in Lock State\n"


def test_qualcomm_reboot_fastboot_enters_fastbootd(open_handset):
    running = open_handset("qualcomm")
    with Wire(running.address) as wire:
        assert wire.last("reboot-fastboot") == b"OKAY"
    with _back_in(running, Mode.FASTBOOTD) as wire:
        assert wire.last("getvar:is-userspace") == b"OKAYyes"
        assert wire.last("getvar:max-download-size") == b"OKAY0x10000000"
        assert wire.last("fetch:boot_a") == b"FAILFetch is not allowed on user build"


def test_qualcomm_boots_android_and_stays(open_handset):
    running = open_handset("qualcomm")
    with Wire(running.address) as wire:
        assert wire.last("set_active:b") == b"OKAY"
        assert wire.last("reboot") == b"OKAY"
    _stays_in_the_os(running)


def test_uboot_buffer_is_empty_again_after_a_reboot(open_handset):
    running = open_handset("uboot")
    image = os.urandom(1000)
    with Wire(running.address) as wire:
        wire.download(os.urandom(MiB))
        assert wire.last("reboot-bootloader") == b"OKAY"
    with _back_in(running, Mode.BOOTLOADER) as wire:
        wire.download(image)
        assert wire.last("flash:misc") == b"OKAY"
    assert running.partition("misc")[:1024] == image + bytes(24)


def test_tsuf_emulator_refuses_an_unknown_family(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flasher.cli.main", "emulator", "--tcp", "0",
                             "--storage", str(tmp_path), "--family", "lk"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "invalid choice: 'lk'" in result.stderr
    assert "Traceback" not in result.stderr
