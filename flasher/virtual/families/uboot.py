"""U-Boot (drivers/fastboot: fb_command.c, fb_getvar.c, fb_mmc.c; net/fastboot_udp.c).

On the wire: commands split at ':' and match exactly, anything else is
`unrecognized command` (fetch, upload, oem, flashing included). Variables:
version, version-bootloader, downloadsize and max-download-size (`0x%08x`),
serialno, version-baseband (`N/A`), product (the board), platform, current-slot
(always `a`: "A/B not implemented"), has-slot, partition-type, partition-size
(`0x%016zx` bytes), is-userspace; anything else is `Variable not implemented`.
`getvar all` (U-Boot 2024.04+) lists the plain ones as `name: value`.
No slots: `set_active` answers OKAY and changes nothing. `reboot-bootloader`
works (the board sets its flag); the board has no fastbootd or recovery flag, so
`reboot-fastboot` and `reboot-recovery` fail. A raw image is written in whole
512-byte blocks, the last padded with what the download buffer held there; a
sparse image is written chunk by chunk. `flash` leaves the download in place.
After `reboot` (or `continue`, or `boot`) it runs the OS and stays there.
"""

from ..handset import Mode
from ..imaging import ImageRejected
from ..profile import UnknownPartition
from .base import DeviceCosts, Family, Refused, rebooter, say

VERSION_BOOTLOADER = "U-Boot 2024.04"
BLOCK = 512

UBOOT_COSTS = DeviceCosts(command=0.0005, write_rate=25e6, write_call=0.001, write_piece=16384 * BLOCK)
"""An SoC board's eMMC driven by U-Boot without HS200 tuning: about 25 MB/s, ~1 ms per
separate block write (each sparse chunk; raw images in FASTBOOT_MAX_BLK_WRITE pieces of
16384 blocks), under 1 ms per command (estimates: docs/real-handsets.md)."""

_LISTED = ("version", "version-bootloader", "downloadsize", "max-download-size", "serialno",
           "version-baseband", "product", "platform", "current-slot", "is-userspace")


def _partition(handset, name: str):
    if not name:
        raise Refused("partition not given")
    try:
        partition, _slot, _stem = handset.profile.resolve(name, None)
    except UnknownPartition:
        raise Refused("partition not found") from None
    return partition


def _variable(handset, name: str, argument: str) -> str:
    profile = handset.profile
    plain = {
        "version": "0.4",
        "version-bootloader": VERSION_BOOTLOADER,
        "downloadsize": f"0x{profile.max_download_size:08x}",
        "max-download-size": f"0x{profile.max_download_size:08x}",
        "serialno": profile.serialno,
        "version-baseband": "N/A",
        "product": profile.product,
        "current-slot": "a",
        "is-userspace": "no",
    }
    if name in plain:
        return plain[name]
    if name == "platform":
        raise Refused("platform not set")
    if name == "has-slot":
        if not argument:
            raise Refused("invalid partition name")
        _partition(handset, argument)  # a slotless board has no NAME_a
        return "no"
    if name == "partition-size":
        return f"0x{_partition(handset, argument).size:016x}"
    if name == "partition-type":
        partition = _partition(handset, argument)
        if partition.fs_type != "ext4":  # U-Boot finds no filesystem it knows
            raise Refused("failed to set partition")
        return "ext4"
    raise Refused("Variable not implemented")


def getvar(handset, command, protocol, link) -> None:
    if command.argument == "all":
        for name in _LISTED:
            try:
                value = _variable(handset, name, "")
            except Refused as refusal:
                value = str(refusal)  # U-Boot lists the failure's text as the value
            say(link, protocol.info(f"{name}: {value}"))
        say(link, protocol.okay())
        return
    name, _, argument = command.argument.partition(":")
    say(link, protocol.okay(_variable(handset, name, argument)))


def download(handset, command, protocol, link) -> None:
    if not command.argument:
        raise Refused("Expected command parameter")
    digits = ""
    for char in command.argument:  # simple_strtoul: the leading hex digits
        if char not in "0123456789abcdefABCDEF":
            break
        digits += char
    size = int(digits, 16) if digits else 0
    if size == 0:
        raise Refused("Expected nonzero image size")
    if size > handset.profile.max_download_size:
        raise Refused(command.argument)  # U-Boot echoes the size it refuses
    handset.receive_download(size, protocol, link, keep_stale=True)
    say(link, protocol.okay())


def flash(handset, command, protocol, link) -> None:
    try:
        _partition_, _slot, stem = handset.profile.resolve(command.argument, None)
    except UnknownPartition:
        raise Refused("cannot find partition") from None
    if handset.staged_size:
        try:
            handset.write_staged(stem, consume=False)
        except ImageRejected as exc:
            sparse = "sparse" in str(exc)
            raise Refused("Request would exceed partition size!" if sparse else "too large for partition") from None
    say(link, protocol.okay())


def erase(handset, command, protocol, link) -> None:
    try:
        _partition_, _slot, stem = handset.profile.resolve(command.argument, None)
    except UnknownPartition:
        raise Refused("cannot find partition") from None
    handset.storage.erase(stem)
    say(link, protocol.okay())


def okay(handset, command, protocol, link) -> None:
    say(link, protocol.okay())


def refuse(message: str):
    def handler(handset, command, protocol, link) -> None:
        raise Refused(message)
    return handler


class UbootFamily(Family):
    slots = False
    costs = UBOOT_COSTS
    raw_block = BLOCK
    commands = {
        "getvar": getvar,
        "download": download,
        "flash": flash,
        "erase": erase,
        "boot": rebooter(Mode.ANDROID),
        "continue": rebooter(Mode.ANDROID),
        "reboot": rebooter(Mode.ANDROID),
        "reboot-bootloader": rebooter(Mode.BOOTLOADER),
        "reboot-fastboot": refuse("Cannot set fastboot flag"),
        "reboot-recovery": refuse("Cannot set recovery flag"),
        "set_active": okay,
    }

    def route(self, command):
        return self.commands.get(command.text.split(":")[0])

    def unknown_command(self, command) -> str:
        return "unrecognized command"


def make(name: str) -> Family:
    return UbootFamily(name)
