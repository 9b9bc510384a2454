"""FastbootDevice against a well-behaved virtual handset: naming, slots, data phases."""

import io
import os

import pytest

from flasher.fastboot import BootloaderLocked, FastbootDevice, ImageTooLarge, NoSuchSlot
from flasher.protocol.errors import CommandFailed
from flasher.virtual.profile import Partition
from tests.support.handsets import RunningHandset, small_profile
from tests.support.scripted_peer import ScriptedPeer


def test_partition_names_follow_the_slot_rules(running_handset):
    with FastbootDevice.open(running_handset.address) as device:
        assert device.resolve_partition("boot") == "boot_a"
        assert device.resolve_partition("boot", "other") == "boot_b"
        assert device.resolve_partition("boot", "b") == "boot_b"
        assert device.resolve_partition("misc") == "misc"
        with pytest.raises(NoSuchSlot):
            device.resolve_partition("misc", "b")


def test_upload_returns_what_was_downloaded(running_handset):
    with FastbootDevice.open(running_handset.address) as device:
        device.download(10, [b"hello", b"world"])
        out = io.BytesIO()
        assert device.upload(out) == 10
    assert out.getvalue() == b"helloworld"


def test_progress_reports_every_byte(running_handset, tmp_path):
    image = tmp_path / "boot.img"
    image.write_bytes(bytes(range(256)) * 8192)
    seen = []
    with FastbootDevice.open(running_handset.address) as device:
        device.flash("boot_a", image, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def fill_with_known_bytes(running_handset, stem: str) -> bytes:
    path = running_handset.handset.storage.path(stem)
    size = path.stat().st_size
    known = (bytes(range(1, 252)) * (size // 251 + 1))[:size]
    path.write_bytes(known)
    return known


@pytest.mark.parametrize("size", [1_000_003, 4096 * 200, 1])
def test_an_image_that_fits_one_download_writes_exactly_its_bytes(running_handset, tmp_path, size):
    known = fill_with_known_bytes(running_handset, "boot_a")
    image = tmp_path / "boot.img"
    data = os.urandom(size // 2) + bytes(size - size // 2)  # zero-heavy: FILL may travel, if whole blocks
    image.write_bytes(data)
    with FastbootDevice.open(running_handset.address) as device:
        assert device.flash("boot_a", image) == 1
    after = running_handset.partition("boot_a")
    assert after[:size] == data
    assert after[size:] == known[size:]


def test_a_larger_image_changes_nothing_past_its_last_block(running_handset, tmp_path):
    known = fill_with_known_bytes(running_handset, "system_a")
    size = 3 * 1024 * 1024 + 5  # three downloads' worth and a bit
    image = tmp_path / "system.img"
    data = os.urandom(size)
    image.write_bytes(data)
    with FastbootDevice.open(running_handset.address) as device:
        assert device.flash("system_a", image) >= 4
    after = running_handset.partition("system_a")
    block_end = -(-size // 4096) * 4096
    assert after[:size] == data
    assert after[size:block_end] == bytes(block_end - size)  # sparse data is whole blocks
    assert after[block_end:] == known[block_end:]


def test_an_image_too_large_for_the_partition_is_refused_before_sending(running_handset, tmp_path):
    image = tmp_path / "big.img"
    image.write_bytes(bytes(3 * 1024 * 1024))
    with FastbootDevice.open(running_handset.address) as device:
        with pytest.raises(ImageTooLarge, match="boot_a holds 2.0 MiB"):
            device.flash("boot_a", image)
        assert device.upload(io.BytesIO()) == 0  # nothing was downloaded


@pytest.mark.parametrize("reason, locked", [
    (b"Flashing is not allowed in Lock State", True),  # Qualcomm ABL
    (b"not allowed in locked state", True),  # MediaTek
    (b"Erase is not allowed on locked devices", True),  # fastbootd
    (b"Device already : unlocked!", False),
    (b"Flashing Unlock is not allowed", False),  # the unlock ability is off: not a lock refusal
    (b"partition table doesn't exist", False),
])
def test_a_refusal_because_the_bootloader_is_locked_is_named_so(reason, locked):
    with ScriptedPeer(lambda command, send, conn: send(b"FAIL" + reason)) as peer, \
            FastbootDevice.open(peer.address) as device:
        with pytest.raises(CommandFailed) as refused:
            device.erase("boot_a")
    assert isinstance(refused.value, BootloaderLocked) is locked
    assert refused.value.reason == reason.decode()


def test_an_image_of_exactly_4_gib_is_written_whole(tmp_path):
    # 4 GiB is where a size kept in 32 bits wraps to 0 (the AOSP client then sends nothing).
    size = 4 << 30
    profile = small_profile(partitions=(Partition("system", size, True),))
    running = RunningHandset(tmp_path / "handset", profile)
    image = tmp_path / "system.img"
    head, tail = os.urandom(1 << 20), os.urandom(1 << 20)
    with open(image, "wb") as file:  # sparse on disk: content at both ends, zero blocks between
        file.write(head)
        file.seek(size - len(tail))
        file.write(tail)
    try:
        with FastbootDevice.open(running.address) as device:
            device.flash("system_a", image)
        written = running.handset.storage.path("system_a")
        assert written.stat().st_size == size
        with open(written, "rb") as file:
            assert file.read(len(head)) == head
            file.seek(size - len(tail))
            assert file.read() == tail
    finally:
        running.stop()
