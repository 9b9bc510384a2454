"""`tsuf flashall DIR` of a build with super_empty.img takes the optimized path: super built on
the host and flashed from the bootloader, no fastbootd. The stock client (29.0.6) flashes the
same build through fastbootd; the flashed slot ends with the same images either way, and
simg2img expands TSUF's super image to metadata and extents our codec reads back."""

import json
import os
import subprocess
import sys

import pytest

from flasher.lp import image
from flasher.lp.super_image import sized_layout, write_super_image
from flasher.virtual.handset import Mode
from tests.interop.aosp import requires_fastboot
from tests.support.handsets import RunningHandset, android_profile, android_super_empty
from tests.support.packages import PRODUCT, make_images

MiB = 1 << 20
SIZES = {"boot": 1 * MiB, "product": 1 * MiB + 3, "system": 5 * MiB + 4096 + 17, "vendor": 2 * MiB}
LOGICAL = ("system", "vendor", "product")


@pytest.fixture
def build(tmp_path):
    """A build folder as AOSP leaves it: system.img sparse, super_empty.img, android-info.txt."""
    folder = make_images(tmp_path / "out", SIZES)
    raw = {name: (folder / f"{name}.img").read_bytes() for name in SIZES}
    subprocess.run(["img2simg", str(folder / "system.img"), str(tmp_path / "system.sparse")], check=True, timeout=60)
    os.replace(tmp_path / "system.sparse", folder / "system.img")
    (folder / "super_empty.img").write_bytes(android_super_empty())
    (folder / "android-info.txt").write_text(f"require board={PRODUCT}\n")
    return folder, raw


@requires_fastboot
def test_flashall_builds_super_on_the_host_and_leaves_the_slot_as_the_stock_client_does(tmp_path, build):
    folder, raw = build
    stock = RunningHandset(tmp_path / "stock", android_profile(), start_mode=Mode.BOOTLOADER)
    ours = RunningHandset(tmp_path / "ours", android_profile(), start_mode=Mode.BOOTLOADER)
    try:
        env = {**os.environ, "ANDROID_PRODUCT_OUT": str(folder)}
        output = subprocess.run(["fastboot", "-s", stock.address, "--skip-secondary", "--skip-reboot", "flashall"],
                                capture_output=True, text=True, timeout=180, env=env)
        assert output.returncode == 0 and "Updating super partition" in output.stderr, output.stderr
        tsuf = subprocess.run([sys.executable, "-m", "flasher.cli.main", "-s", ours.address, "flashall",
                               str(folder), "--skip-reboot"], capture_output=True, text=True, timeout=180,
                              env={**os.environ, "TSUF_HOME": str(tmp_path / "home")})
        assert tsuf.returncode == 0, tsuf.stderr
        assert "flash super" in tsuf.stderr and "emptied" in tsuf.stderr
        assert ours.handset.mode is Mode.BOOTLOADER  # never went through fastbootd
        assert ours.partition("boot_a") == stock.partition("boot_a")
        for name in LOGICAL:
            ours_data = ours.handset.family.dynamic.super.read_logical(f"{name}_a")
            assert ours_data[: len(raw[name])] == raw[name], name
            assert stock.handset.family.dynamic.super.read_logical(f"{name}_a")[: len(raw[name])] == raw[name]
        assert ours.handset.meta.active == stock.handset.meta.active == "a"
    finally:
        stock.stop()
        ours.stop()


def test_simg2img_expands_the_super_image_to_what_the_metadata_says(tmp_path, build):
    folder, raw = build
    images = {f"{name}_a": tmp_path / f"{name}.raw" for name in LOGICAL}
    for name, path in images.items():
        path.write_bytes(raw[name.removesuffix("_a")])
    metadata = sized_layout(image.read_super_empty((folder / "super_empty.img").read_bytes()), images)
    sparse = tmp_path / "super.img"
    with open(sparse, "wb") as out:
        written = write_super_image(metadata, images, out)
    assert written == sparse.stat().st_size < metadata.super_device.size  # the free space is DONT_CARE
    expanded = tmp_path / "super.raw"
    subprocess.run(["simg2img", str(sparse), str(expanded)], check=True, timeout=60)
    data = expanded.read_bytes()
    assert len(data) == metadata.super_device.size
    for slot_number in range(2):
        with open(expanded, "rb") as f:
            stored = image.read_super(f, slot_number)
        for name, path in images.items():
            extents = stored.partition(name).extents
            content = b"".join(data[e.target_data * 512: e.target_data * 512 + e.num_sectors * 512] for e in extents)
            assert content[: path.stat().st_size] == path.read_bytes()
        assert stored.partition("system_b").size == 0


def test_images_too_large_for_super_are_refused_before_anything_is_written(tmp_path, build):
    folder, _raw = build
    (folder / "vendor.img").write_bytes(os.urandom(12 * MiB))  # its group holds less than system and this
    phone = RunningHandset(tmp_path / "phone", android_profile(), start_mode=Mode.BOOTLOADER)
    try:
        before = phone.partition("super"), phone.partition("boot_a")
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", "-s", phone.address, "flashall",
                                 str(folder), "--skip-reboot"], capture_output=True, text=True, timeout=180,
                                env={**os.environ, "TSUF_HOME": str(tmp_path / "home")})
        assert result.returncode == 1 and "do not fit super" in result.stderr and "Traceback" not in result.stderr
        assert (phone.partition("super"), phone.partition("boot_a")) == before  # nothing written
    finally:
        phone.stop()


def _flashall(tmp_path, phone, folder, *extra):
    return subprocess.run([sys.executable, "-m", "flasher.cli.main", "--json", "-s", phone.address, "flashall",
                           str(folder), "--skip-reboot", *extra], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TSUF_HOME": str(tmp_path / "home")})


def test_other_slot_images_go_to_the_other_slot_unless_skipped(tmp_path, build):
    folder, raw = build
    other = os.urandom(2 * MiB)
    (folder / "system_other.img").write_bytes(other)
    phone = RunningHandset(tmp_path / "phone", android_profile(), start_mode=Mode.BOOTLOADER)
    try:
        assert _flashall(tmp_path, phone, folder).returncode == 0
        dynamic = phone.handset.family.dynamic.super
        assert dynamic.read_logical("system_b")[: len(other)] == other
        assert dynamic.read_logical("system_a")[: len(raw["system"])] == raw["system"]
        assert _flashall(tmp_path, phone, folder, "--skip-secondary").returncode == 0
        assert dynamic.logical_size("system_b", 0) == 0  # a whole reflash: only the flashed slot is kept
    finally:
        phone.stop()


def test_fastboot_info_chooses_what_flashall_writes(tmp_path, build):
    folder, raw = build
    (folder / "fastboot-info.txt").write_text("version 1\nflash boot\nreboot fastboot\nupdate-super\n"
                                              "flash system\nif-wipe erase userdata\n")
    phone = RunningHandset(tmp_path / "phone", android_profile(), start_mode=Mode.BOOTLOADER)
    try:
        result = _flashall(tmp_path, phone, folder)
        assert result.returncode == 0, result.stderr
        assert set(json.loads(result.stdout)["flashed"]) == {"boot_a", "system_a"}  # vendor and product not listed
        (folder / "fastboot-info.txt").write_text("version 1\nflash dtbo\n")
        missing = _flashall(tmp_path, phone, folder)
        assert missing.returncode == 1 and "fastboot-info.txt flashes dtbo.img" in missing.stderr
    finally:
        phone.stop()
