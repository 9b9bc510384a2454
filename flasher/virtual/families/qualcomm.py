"""Qualcomm's ABL (edk2 QcomModulePkg FastbootCmds.c): a phone's bootloader with A/B slots.

On the wire: every variable is published once at start-up and `getvar` looks it up
(unknown: `GetVar Variable Not found`); `getvar all` prints `name:value`, and
partition sizes carry a leading space (` 0x4000000`). max-download-size is decimal.
Commands match by prefix; `fetch`, `upload`, `oem` and `boot` (a user build leaves
ENABLE_BOOT_CMD off) are `unknown command`. A locked bootloader refuses flash,
erase and slot changes with ABL's words. After `reboot` it boots Android and stays.
`reboot-fastboot` enters the phone's fastbootd (the fastbootd family).
"""

from .. import lock, slots
from ..commands import flashing
from ..getvars import SLOTS, stems, yes_no
from ..handset import Handset, Mode
from ..profile import UnknownPartition
from .base import DeviceCosts, Family, Refused, rebooter, say

ABL_COSTS = DeviceCosts(command=0.001, write_rate=200e6, write_call=0.002)
"""UFS 2.x/3.x phone: ~1 ms per command over USB 2.0 high speed, about 200 MB/s written
through the UEFI block I/O, a few ms to open and sync a partition (estimates:
docs/real-handsets.md)."""

UNKNOWN_VARIABLE = "GetVar Variable Not found"
DOWNLOAD_TOO_LARGE = "Requested download size is more than max allowed\n"
SLOT_CHANGE_REFUSED = lock.SLOT_CHANGE_REFUSED + "\n"  # ABL's string ends in a newline


def variables(handset: Handset) -> list[tuple[str, str]]:
    """What ABL publishes, in its order."""
    profile, meta = handset.profile, handset.meta
    slotted = profile.slot_count == 2
    pairs = [("version", "0.4")]
    for partition in profile.partitions:
        pairs.append((f"has-slot:{partition.name}", yes_no(partition.slotted and slotted)))
    if slotted:
        pairs += [("current-slot", meta.active), ("slot-count", "2")]
        for slot in SLOTS:
            state = meta.slot(slot)
            pairs += [(f"slot-successful:{slot}", yes_no(state.successful)),
                      (f"slot-unbootable:{slot}", yes_no(state.unbootable)),
                      (f"slot-retry-count:{slot}", str(state.tries_remaining))]
    for partition in profile.partitions:
        for stem in stems(partition, slotted):
            pairs += [(f"partition-size:{stem}", f" 0x{partition.size:x}"),
                      (f"partition-type:{stem}", partition.fs_type)]
    pairs += [
        ("kernel", "uefi"),
        ("max-download-size", str(profile.max_download_size)),
        ("is-userspace", "no"),
        ("snapshot-update-status", handset.family.in_mode(Mode.BOOTLOADER).snapshot_status()),
        ("product", profile.product),
        ("serialno", profile.serialno),
        ("secure", yes_no(profile.secure)),
        ("variant", profile.variant),
        ("logical-block-size", "0x1000"),
        ("erase-block-size", "0x80000"),
        ("version-bootloader", profile.version_bootloader),
        ("version-baseband", profile.version_baseband),
        ("battery-voltage", str(profile.battery_voltage_mv)),
        ("battery-soc-ok", yes_no(profile.battery_soc_ok)),
        ("charger-screen-enabled", "0"),
        ("off-mode-charge", "0"),
        ("unlocked", yes_no(handset.unlocked)),
        ("hw-revision", profile.hw_revision),
    ]
    return pairs


def getvar(handset, command, protocol, link) -> None:
    pairs = variables(handset)
    # ABL compares the argument's length of "all": an empty or cut-short name lists all.
    if "all".startswith(command.argument):
        for key, value in pairs:
            say(link, protocol.info(f"{key}:{value}"))
        say(link, protocol.okay())
        return
    value = dict(pairs).get(command.argument)
    if value is None:
        raise Refused(UNKNOWN_VARIABLE)
    say(link, protocol.okay(value))


def download(handset, command, protocol, link) -> None:
    try:
        size = int(command.argument, 16)
    except ValueError:
        raise Refused("Failed to get the number of bytes to download") from None
    if not 0 < size <= handset.profile.max_download_size:
        raise Refused(DOWNLOAD_TOO_LARGE)
    handset.receive_download(size, protocol, link)
    say(link, protocol.okay())


def _stem(handset, name: str, *, refused: str | None) -> str:
    """The stem ABL writes; `refused` is what a locked bootloader answers."""
    if refused and not handset.unlocked:
        raise Refused(refused)
    try:
        _partition, _slot, stem = handset.profile.resolve(name, handset.meta.active or None)
    except UnknownPartition:
        raise Refused(f"({name}) No such partition") from None
    return stem


def flash(handset, command, protocol, link) -> None:
    stem = _stem(handset, command.argument, refused=lock.FLASH_REFUSED)
    if not handset.staged_size:
        raise Refused("No data to flash")
    handset.write_staged(stem)
    say(link, protocol.okay())


def erase(handset, command, protocol, link) -> None:
    if not handset.unlocked:
        raise Refused(lock.ERASE_REFUSED)
    try:
        _partition, _slot, stem = handset.profile.resolve(command.argument, handset.meta.active or None)
    except UnknownPartition:
        raise Refused("Check device console.") from None
    handset.storage.erase(stem)
    say(link, protocol.okay())


def set_active(handset, command, protocol, link) -> None:
    if not handset.unlocked:
        raise Refused(SLOT_CHANGE_REFUSED)
    try:
        slot = slots.parse_slot(command.argument)
    except slots.UnknownSlot:
        raise Refused("Invalid Slot Suffix") from None
    handset._save(slots.set_active(handset.meta, slot, handset.profile.max_retry_count))
    say(link, protocol.okay())


class QualcommFamily(Family):
    costs = ABL_COSTS
    commands = {
        "getvar": getvar,
        "download": download,
        "flash": flash,
        "erase": erase,
        "set_active": set_active,
        "flashing": flashing,
        "continue": rebooter(Mode.ANDROID),
        "reboot": rebooter(Mode.ANDROID),
        "reboot-bootloader": rebooter(Mode.BOOTLOADER),
        "reboot-recovery": rebooter(Mode.RECOVERY),
        "reboot-fastboot": rebooter(Mode.FASTBOOTD),
    }

    def snapshot_status(self) -> str:
        """The Virtual A/B state ABL reports; "none" where the phone keeps no snapshots."""
        return "none"

    def in_mode(self, mode: Mode) -> Family:
        if mode is not Mode.FASTBOOTD:
            return self
        from .fastbootd import FastbootdFamily  # the phone's userspace half
        if not hasattr(self, "_userspace"):
            self._userspace = FastbootdFamily("fastbootd", bootloader=self)
        return self._userspace

    def route(self, command):
        if command.name == "reboot" and command.argument:
            return None  # ABL knows `reboot-bootloader`, not `reboot:bootloader`
        return self.commands.get(command.name)

    def unknown_command(self, command) -> str:
        return "unknown command"


def make(name: str) -> Family:
    return QualcommFamily(name)
