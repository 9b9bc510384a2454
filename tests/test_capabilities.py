"""The capability model against the answers real bootloaders give, word for word."""

import pytest

from flasher.fastboot import FastbootDevice, NoSlots, NoSuchPartition, SwitchIgnored
from flasher.protocol.variables import BadVariable, parse_size
from tests.support.scripted_peer import ScriptedPeer


def peer(variables: dict[str, str], *, all_lines: list[str] | None = None, absent: str = "Variable not implemented",
         fetch: str | None = "unrecognized command", on_set_active=None):
    """A handset answering `getvar` from `variables`, FAIL `absent` otherwise; `getvar:all` from
    `all_lines` (or FAIL when None); `fetch` FAILs with that text (or serves zeros when None)."""
    def reply(command: bytes, send, conn):
        text = command.decode()
        if text == "getvar:all":
            if all_lines is None:
                send(b"FAIL" + absent.encode())
                return
            for line in all_lines:
                send(b"INFO" + line.encode())
            send(b"OKAY")
        elif text.startswith("getvar:"):
            name = text[len("getvar:"):]
            send(b"OKAY" + variables[name].encode() if name in variables else b"FAIL" + absent.encode())
        elif text.startswith("fetch:"):
            if fetch is not None:
                send(b"FAIL" + fetch.encode())
                return
            size = int(text.rsplit(":", 1)[1], 16)
            send(b"DATA%08x" % size)
            send(bytes(size))
            send(b"OKAY")
        elif text.startswith("set_active:"):
            if on_set_active:
                on_set_active(text.partition(":")[2])
            send(b"OKAY")
        else:
            send(b"FAILunknown command")
    return ScriptedPeer(reply)


def test_uboot_current_slot_without_slots_means_no_slots():
    """U-Boot answers current-slot `a` on boards without A/B; has-slot says no."""
    with peer({"current-slot": "a", "has-slot:boot": "no", "partition-size:boot": "0x4000000",
               "max-download-size": "0x2000000", "product": "rpi4"}) as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            caps = device.capabilities
            assert caps.slots == () and caps.current_slot is None
            assert caps.serialno is None and caps.unlocked is None and caps.battery_mv is None
            assert caps.max_download_size == 0x2000000 and caps.product == "rpi4"
            assert device.resolve_partition("boot") == "boot"
            assert not caps.can_read("boot") and caps.fetch_command is False
            with pytest.raises(NoSlots):
                device.set_active("b")
    assert b"set_active:b" not in device_peer.commands  # refused on the host side
    assert not [command for command in device_peer.commands if command.startswith(b"fetch")]  # none offered


def test_barebox_sizes_are_hex_without_0x_and_serialno_is_absent():
    lines = ["version: 0.4", "bootloader-version: barebox-2024.01.0", "max-download-size: 134217728",
             "partition-size:system: 10000000", "partition-type:system: raw"]
    with peer({}, all_lines=lines, absent="no such variable") as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            caps = device.capabilities
            assert caps.bare_hex
            assert caps.max_download_size == 128 << 20
            assert caps.partition_size("system") == 256 << 20  # not ten million
            assert caps.serialno is None and caps.slots == ()


def test_fastbootd_lines_without_a_space_and_fetch_only_for_vendor_boot():
    lines = ["is-userspace:yes", "slot-count:2", "current-slot:b", "has-slot:boot:yes",
             "partition-size:boot_a:0x4000000", "partition-size:vendor_boot_a:0x4000000", "max-download-size:0x10000000",
             "max-fetch-size:0x10000000", "serialno:FBD0001", "product:tsuf_phone", "unlocked:yes"]

    def reply(command, send, conn):
        text = command.decode()
        if text == "getvar:all":
            for line in lines:
                send(b"INFO" + line.encode())
            send(b"OKAY")
        elif text.startswith("getvar:"):
            send(b"FAILVariable not found")
        elif text.startswith("fetch:vendor_boot"):
            size = int(text.rsplit(":", 1)[1], 16)
            send(b"DATA%08x" % size)
            send(bytes(size))
            send(b"OKAY")
        elif text.startswith("fetch:"):
            send(b"FAILFetch is not allowed on user build")
    with ScriptedPeer(reply) as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            caps = device.capabilities
            assert caps.userspace and caps.slots == ("a", "b") and caps.current_slot == "b"
            assert caps.inactive_slot == "a" and caps.serialno == "FBD0001" and caps.unlocked is True
            assert caps.can_read("vendor_boot_a")
            assert not caps.can_read("boot_a")
    fetched = [command for command in device_peer.commands if command.startswith(b"fetch:")]
    assert fetched and all(command.startswith(b"fetch:vendor_boot") for command in fetched)  # never one refused


def test_qualcomm_decimal_sizes_and_an_empty_okay_is_absent():
    with peer({"max-download-size": "536870912", "slot-count": "2", "current-slot": "a",
               "partition-size:boot_a": "0x6000000", "serialno": "abc123", "product": "", "unlocked": "no",
               "battery-voltage": "4012", "battery-soc-ok": "yes"},
              absent="GetVar Variable Not found", fetch="unknown command") as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            caps = device.capabilities
            assert caps.max_download_size == 512 << 20 and not caps.bare_hex
            assert caps.product is None  # empty OKAY: not offered
            assert caps.unlocked is False and caps.battery_mv == 4012 and caps.battery_ok is True
            assert caps.build is None and caps.rollback_index is None and caps.hw_revision is None
            assert caps.partition_size("boot_a") == 0x6000000
            with pytest.raises(NoSuchPartition):  # it reports sizes, and none for this name
                device._check_fits("sytem_a", 4096)


def test_set_active_that_changes_nothing_is_caught():
    """U-Boot with A/B partitions: set_active answers OKAY, current-slot stays `a`."""
    with peer({"current-slot": "a", "has-slot:boot": "yes", "max-download-size": "0x2000000"}) as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            assert device.capabilities.slots == ("a", "b")
            with pytest.raises(SwitchIgnored, match="still reports slot a"):
                device.set_active("b")


@pytest.mark.parametrize("text, bare_hex, size", [
    ("0x10000000", False, 256 << 20),
    ("0X10000000", False, 256 << 20),
    ("268435456", False, 256 << 20),
    ("0a000000", False, 160 << 20),  # a hex letter: only hex reads it
    ("10000000", True, 256 << 20),
    (" 4096 ", False, 4096),
])
def test_sizes_in_every_format(text, bare_hex, size):
    assert parse_size("partition-size:system", text, bare_hex=bare_hex) == size


@pytest.mark.parametrize("text", ["", "0x", "-5", "12MB", "0x" + "f" * 17, "nan"])
def test_sizes_that_are_not_sizes(text):
    with pytest.raises(BadVariable):
        parse_size("max-download-size", text)


def test_dynamic_partitions_in_fastbootd_and_their_absence_in_a_bootloader():
    lines = ["is-userspace:yes", "super-partition-name:super", "is-logical:system_b:yes", "is-logical:boot_b:no",
             "snapshot-update-status:snapshotted"]
    with peer({"snapshot-update-status": "cancelled"}, all_lines=lines, absent="Unknown variable") as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            caps = device.capabilities
            assert caps.userspace and caps.super_partition_name == "super"
            assert caps.is_logical("system_b") is True and caps.is_logical("boot_b") is False
            assert caps.is_logical("nothing") is None
            assert caps.snapshot_update_status == "cancelled"  # asked afresh: it changes
    with peer({"is-userspace": "no"}, absent="GetVar Variable Not found") as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            caps = device.capabilities
            assert not caps.userspace and caps.super_partition_name is None
            assert caps.is_logical("system_b") is None and caps.snapshot_update_status is None


def test_the_listing_is_asked_once_and_each_other_variable_when_a_decision_reads_it():
    lines = ["max-download-size:0x10000000", "slot-count:2", "current-slot:a", "has-slot:system:yes",
             "partition-size:system_a:0x600000", "version-bootloader:ABL-1"]
    with peer({"serialno": "VH000001"}, all_lines=lines, absent="GetVar Variable Not found") as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            assert device_peer.commands == []  # connecting asks nothing
            assert device.resolve_partition("system") == "system_a"
            assert device.max_download_size() == 0x10000000
            device._check_fits("system_a", 0x600000)  # a 0x size: the bootloader's name is not needed
            flash_asked = list(device_peer.commands)
            assert device.capabilities.serialno == "VH000001" and device.capabilities.serialno == "VH000001"
            assert device.capabilities.battery_ok is None  # not offered: not available, never passed
    assert flash_asked == [b"getvar:all"]
    assert device_peer.commands[1:] == [b"getvar:serialno", b"getvar:battery-soc-ok"]


def test_a_connection_for_one_command_asks_only_what_it_reads_as_the_stock_client_does():
    """`tsuf flash system_a` reads two variables; a phone's listing is a hundred lines. The
    stock client asks three: has-slot:system_a too, which a partition the handset reports a
    size for could only answer with no."""
    lines = ["max-download-size:0x10000000", "slot-count:2", "current-slot:a", "has-slot:system:yes",
             "partition-size:system_a:0x600000"]
    answers = {"max-download-size": "0x10000000", "partition-size:system_a": "0x600000", "has-slot:system": "yes"}
    with peer(answers, all_lines=lines, absent="GetVar Variable Not found") as device_peer:
        with FastbootDevice.open(device_peer.address, listing=False) as device:
            assert device.resolve_partition("system_a") == "system_a"
            assert device.max_download_size() == 0x10000000
            device._check_fits("system_a", 0x600000)
            with pytest.raises(NoSuchPartition):  # a name the handset does not have is still refused
                device._check_fits("sytem_a", 4096)
    assert device_peer.commands[:2] == [b"getvar:partition-size:system_a", b"getvar:max-download-size"]
    assert b"getvar:all" not in device_peer.commands and b"getvar:has-slot:system_a" not in device_peer.commands


def test_a_slot_suffixed_name_without_a_reported_size_still_asks_has_slot():
    """A handset that reports no size for `system_a` might know it as a slotted base name."""
    with peer({"has-slot:system_a": "yes", "current-slot": "b"}, all_lines=None,
              absent="GetVar Variable Not found") as device_peer:
        with FastbootDevice.open(device_peer.address, listing=False) as device:
            assert device.resolve_partition("system_a") == "system_a_b"
    assert device_peer.commands == [b"getvar:partition-size:system_a", b"getvar:has-slot:system_a",
                                    b"getvar:current-slot"]


def test_a_connection_for_one_command_still_reads_barebox_sizes_as_hex():
    with peer({"partition-size:system": "0a000000"}, all_lines=None, absent="no such variable") as device_peer:
        with FastbootDevice.open(device_peer.address, listing=False) as device:
            assert device.capabilities.partition_size("system") == 0x0A000000
    assert b"getvar:all" not in device_peer.commands


def test_a_partition_without_has_slot_needs_no_slot_count():
    """U-Boot lists neither slot-count nor has-slot: a `no` for the partition settles it."""
    with peer({"has-slot:system": "no", "partition-size:system": "0x600000", "max-download-size": "0x2000000"},
              all_lines=["max-download-size: 0x2000000", "current-slot: a"]) as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            assert device.resolve_partition("system") == "system"
            device._check_fits("system", 4096)
    assert device_peer.commands == [b"getvar:all", b"getvar:has-slot:system", b"getvar:partition-size:system"]


def test_a_size_without_0x_asks_whether_the_bootloader_is_barebox():
    with peer({"bootloader-version": "barebox-2024.01.0", "partition-size:system": "10000000"},
              all_lines=None, absent="no such variable") as device_peer:
        with FastbootDevice.open(device_peer.address) as device:
            assert device.capabilities.partition_size("system") == 256 << 20
    assert device_peer.commands == [b"getvar:all", b"getvar:partition-size:system", b"getvar:bootloader-version"]
