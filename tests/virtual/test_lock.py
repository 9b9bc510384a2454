"""The virtual handset's bootloader lock, driven over real TCP by TSUF's host side."""

import dataclasses
import json
import os

import pytest

from flasher.fastboot import BootloaderLocked, FastbootDevice
from flasher.protocol.errors import CommandFailed
from flasher.virtual.handset import Handset
from flasher.virtual.lock import LockFileError
from flasher.virtual.profile import DeviceProfile, MiB, Partition, ProfileError
from tests.support.handsets import RunningHandset, small_profile


@pytest.fixture
def locked(tmp_path):
    running = RunningHandset(tmp_path / "handset", small_profile(unlocked=False))
    yield running
    running.stop()


def _image(tmp_path, size=1 * MiB):
    path = tmp_path / "image.img"
    path.write_bytes(os.urandom(size))
    return path


def _fill_userdata(running):
    with open(running.handset.storage.path("userdata"), "r+b") as userdata:
        userdata.write(b"user photos")


def _unlock_ability(device) -> list[str]:
    lines = []
    device.command("flashing get_unlock_ability", on_info=lines.append)
    return lines


def test_a_locked_handset_refuses_flash_erase_and_slot_change_as_abl_does(locked, tmp_path):
    with FastbootDevice.open(locked.address) as device:
        assert device.getvar("unlocked") == "no"
        with pytest.raises(BootloaderLocked, match="Flashing is not allowed in Lock State") as refused:
            device.flash("system_b", _image(tmp_path))
        assert "manufacturer's signed updates" in refused.value.hint and "erases" in refused.value.hint
        with pytest.raises(BootloaderLocked, match="Erase is not allowed in Lock State"):
            device.erase("boot_a")
        with pytest.raises(BootloaderLocked, match="Slot Change is not allowed in Lock State"):
            device.set_active("b")
        assert device.getvar("current-slot") == "a"  # the link stays usable
    assert locked.partition("system_b") == bytes(6 * MiB)


def test_an_unprotected_partition_can_be_written_while_locked(tmp_path):
    partitions = [dataclasses.replace(part, protected=part.name != "misc") for part in small_profile().partitions]
    running = RunningHandset(tmp_path / "handset", small_profile(unlocked=False, partitions=partitions))
    try:
        with FastbootDevice.open(running.address) as device:
            device.flash("misc", _image(tmp_path, 64 * 1024))
            with pytest.raises(BootloaderLocked):
                device.flash("boot_a", _image(tmp_path))
    finally:
        running.stop()


def test_unlock_wipes_user_data_and_survives_a_restart(locked, tmp_path):
    _fill_userdata(locked)
    with FastbootDevice.open(locked.address) as device:
        assert _unlock_ability(device) == ["get_unlock_ability: 1"]
        device.command("flashing unlock")
        assert device.getvar("unlocked") == "yes"
        device.flash("system_b", _image(tmp_path))
    assert locked.partition("userdata") == bytes(4 * MiB)
    locked.stop()
    again = RunningHandset(tmp_path / "handset", small_profile(unlocked=False))  # same folder, factory-locked
    try:
        with FastbootDevice.open(again.address) as device:
            assert device.getvar("unlocked") == "yes"
    finally:
        again.stop()


def test_unlock_is_refused_without_the_ability_and_nothing_is_wiped(tmp_path):
    running = RunningHandset(tmp_path / "handset", small_profile(unlocked=False, unlock_ability=False))
    _fill_userdata(running)
    try:
        with FastbootDevice.open(running.address) as device:
            assert _unlock_ability(device) == ["get_unlock_ability: 0"]
            with pytest.raises(CommandFailed, match="Flashing Unlock is not allowed"):
                device.command("flashing unlock")
            assert device.getvar("unlocked") == "no"
        assert running.partition("userdata").startswith(b"user photos")
    finally:
        running.stop()


def test_lock_wipes_user_data_and_locking_twice_is_refused(running_handset):
    _fill_userdata(running_handset)
    with FastbootDevice.open(running_handset.address) as device:
        with pytest.raises(CommandFailed, match="Device already : unlocked!"):
            device.command("flashing unlock")
        device.command("flashing lock")
        assert device.getvar("unlocked") == "no"
        with pytest.raises(CommandFailed, match="Device already : locked!"):
            device.command("flashing lock")
        with pytest.raises(CommandFailed, match="not supported"):
            device.command("flashing unlock_critical")
    assert running_handset.partition("userdata") == bytes(4 * MiB)


def test_a_damaged_lock_file_is_named_with_what_to_do(tmp_path):
    folder = tmp_path / "handset"
    folder.mkdir()
    (folder / "lock.json").write_text(json.dumps({"format": 1, "unlocked": "maybe"}))
    with pytest.raises(LockFileError) as damaged:
        Handset(small_profile(), folder)
    assert "Delete" in damaged.value.hint


def test_lock_fields_of_the_profile_round_trip_and_are_checked():
    profile = small_profile(unlocked=False, unlock_ability=False)
    data = json.loads(json.dumps(profile.to_dict()))
    assert data["partitions"][0]["protected"] is True
    assert DeviceProfile.from_dict(data) == profile
    with pytest.raises(ProfileError, match="unlock_ability"):
        DeviceProfile.from_dict({**data, "unlock_ability": 1})
    with pytest.raises(ProfileError, match="protected"):
        small_profile(partitions=[Partition("boot", MiB, True, protected="yes")])
