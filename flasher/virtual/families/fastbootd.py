"""AOSP fastbootd (system/core/fastboot/device): the userspace fastboot in recovery.

On the wire: `is-userspace:yes`; `getvar all` prints `name:value` and
`name:arg:value` without spaces; sizes are `0x` + upper-case hex; its
max-download-size is AOSP's fixed 0x10000000, not the bootloader's. Unknown
variables answer `Unknown variable`, unknown commands `Unrecognized command NAME`.
A locked phone refuses downloads, flashing, erasing and slot changes.
`fetch` is refused on a user build (`fastbootd`); a userdebug build
(`fastbootd-userdebug`) serves vendor_boot only. On its own every partition is
physical (`is-logical:NAME` is `no`); as the android family's userspace half it
also serves the logical partitions inside super (fastbootd_super.py). The
phone's bootloader is the qualcomm family: `reboot-bootloader` lands there.
"""

from ...sparse.format import SparseFormatError
from .. import slots
from ..getvars import SLOTS, stems, yes_no
from ..handset import PIECE, Mode
from ..imaging import ImageRejected
from . import fastbootd_super
from .base import DeviceCosts, Family, Refused, rebooter, say

MAX_DOWNLOAD = 0x10000000  # kMaxDownloadSizeDefault
MAX_FETCH = 0x10000000  # kMaxFetchSizeDefault
FASTBOOTD_USB_IDS = (0x18D1, 0x4EE0)
"""fastbootd's USB gadget enumerates as Google's fastboot, not with the bootloader's ids."""
FETCH_ALLOWED = ("vendor_boot", "vendor_boot_a", "vendor_boot_b")

FASTBOOTD_COSTS = DeviceCosts(command=0.003, write_rate=150e6, write_call=0.02)
"""Userspace: a few ms per command (properties, HAL calls, opening block devices),
writes through the kernel's block layer with an fsync per flash (estimates:
docs/real-handsets.md)."""

STRERROR = {"ENOENT": "No such file or directory", "EOVERFLOW": "Value too large for defined data type",
            "EINVAL": "Invalid argument"}


def _dynamic(handset) -> fastbootd_super.DynamicPartitions | None:
    """The phone's super, where it has dynamic partitions."""
    return handset.family.in_mode(Mode.FASTBOOTD).dynamic


def _logical(handset):
    """The logical partitions of the running slot's metadata; () without super."""
    dynamic = _dynamic(handset)
    metadata = dynamic.super.metadata(fastbootd_super.slot_number(handset)) if dynamic else None
    return metadata.partitions if metadata else ()


def _stems(handset) -> list[str]:
    slotted = handset.profile.slot_count == 2
    return ([stem for partition in handset.profile.partitions for stem in stems(partition, slotted)]
            + [partition.name for partition in _logical(handset)])


def _physical_size(handset, stem: str) -> int | None:
    for partition in handset.profile.partitions:
        if stem in stems(partition, handset.profile.slot_count == 2):
            return partition.size
    return None


def _size_of(handset, stem: str) -> int | None:
    """The size of a partition named exactly `stem` (fastbootd adds no slot): physical or logical."""
    size = _physical_size(handset, stem)
    if size is not None:
        return size
    return next((partition.size for partition in _logical(handset) if partition.name == stem), None)


def _slot_letter(argument: str) -> str:
    if len(argument) != 1 or not "a" <= argument <= "z":
        raise Refused("Invalid slot")
    return argument


def _variable(handset, name: str, args: list[str]) -> str:
    """One variable's value, or Refused with fastbootd's message."""
    profile, meta = handset.profile, handset.meta
    slotted = profile.slot_count == 2
    fixed = {
        "version": "0.4",
        "version-bootloader": profile.version_bootloader,
        "version-baseband": profile.version_baseband,
        "product": profile.product,
        "serialno": profile.serialno,
        "secure": yes_no(profile.secure),
        "unlocked": yes_no(handset.unlocked),
        "max-download-size": f"0x{MAX_DOWNLOAD:X}",
        "max-fetch-size": f"0x{MAX_FETCH:X}",
        "current-slot": meta.active if slotted else "",
        "slot-count": str(profile.slot_count),
        "is-userspace": "yes",
        "battery-voltage": str(profile.battery_voltage_mv),
        "battery-soc-ok": yes_no(profile.battery_soc_ok),
        "hw-revision": profile.hw_revision,
        "super-partition-name": "super",
        "snapshot-update-status": _dynamic(handset).snapshot_status if _dynamic(handset) else "none",
    }
    if name in fixed:
        return fixed[name]
    if name not in ("has-slot", "partition-size", "partition-type", "is-logical",
                    "slot-successful", "slot-unbootable"):
        raise Refused("Unknown variable")
    if not args:
        raise Refused("Missing argument")
    if name in ("slot-successful", "slot-unbootable"):
        letter = _slot_letter(args[0])
        if not slotted:
            raise Refused("Device has no slots")
        state = meta.slot(letter) if letter in SLOTS else None
        if name == "slot-successful":
            return yes_no(bool(state and state.successful))
        return yes_no(not state or state.unbootable)
    if name == "has-slot":
        return yes_no(slotted and _size_of(handset, f"{args[0]}_{meta.active}") is not None)
    size = _size_of(handset, args[0])
    if name == "partition-size":
        if size is None:
            raise Refused("Could not open partition")
        return f"0x{size:X}"
    if name == "partition-type":
        if size is None:
            raise Refused("Invalid partition")
        physical = [p.fs_type for p in handset.profile.partitions if args[0] in stems(p, slotted)]
        return physical[0] if physical else "raw"
    if size is None:
        raise Refused("Partition not found")
    return yes_no(_physical_size(handset, args[0]) is None)


_LISTED_WITH_PARTITIONS = ("partition-size", "partition-type", "is-logical")


def all_lines(handset) -> list[str]:
    lines = []
    for name in ("version", "version-bootloader", "version-baseband", "product", "serialno", "secure",
                 "unlocked", "max-download-size", "current-slot", "slot-count", "is-userspace",
                 "battery-voltage", "battery-soc-ok", "hw-revision", "super-partition-name",
                 "snapshot-update-status", "max-fetch-size"):
        lines.append(f"{name}:{_variable(handset, name, [])}")
    names = list(dict.fromkeys(p.name for p in handset.profile.partitions))
    for partition in names + [s for s in _stems(handset) if s not in names]:
        lines.append(f"has-slot:{partition}:{_variable(handset, 'has-slot', [partition])}")
    for name in _LISTED_WITH_PARTITIONS:
        for stem in _stems(handset):
            lines.append(f"{name}:{stem}:{_variable(handset, name, [stem])}")
    return lines


def getvar(handset, command, protocol, link) -> None:
    if not command.argument:
        raise Refused("Missing argument")
    if command.argument == "all":
        for line in all_lines(handset):
            say(link, protocol.info(line))
        say(link, protocol.okay())
        return
    name, *args = command.argument.split(":")
    say(link, protocol.okay(_variable(handset, name, args)))


def _refuse_when_locked(handset, message: str) -> None:
    if not handset.unlocked:
        raise Refused(message)


def download(handset, command, protocol, link) -> None:
    if not command.argument:
        raise Refused("size argument unspecified")
    _refuse_when_locked(handset, "Download is not allowed on locked devices")
    if len(command.argument) != 8:
        raise Refused("Invalid size (length of size != 8)")
    try:
        size = int(command.argument, 16)
    except ValueError:
        raise Refused("Invalid size") from None
    if size > MAX_DOWNLOAD:
        raise Refused("Invalid size")
    if size == 0:
        raise Refused("Invalid size (0)")
    handset.receive_download(size, protocol, link)
    say(link, protocol.okay())


def flash(handset, command, protocol, link) -> None:
    if not command.argument:
        raise Refused("Invalid arguments")
    _refuse_when_locked(handset, "Flashing is not allowed on locked devices")
    stem = command.argument
    size = _size_of(handset, stem)
    if size is None:
        raise Refused(STRERROR["ENOENT"])
    if not handset.staged_size:
        raise Refused(STRERROR["EINVAL"])
    dynamic = _dynamic(handset)
    if dynamic and stem == dynamic.super.stem and dynamic.busy():
        raise Refused(f"Cannot flash {stem} while a snapshot update is in progress")
    logical = _physical_size(handset, stem) is None
    try:
        if logical:
            with dynamic.super.open_logical(stem, fastbootd_super.slot_number(handset)) as window:
                handset.write_staged_into(window, window.size)
        else:
            handset.write_staged(stem)
    except ImageRejected:
        raise Refused(STRERROR["EOVERFLOW"]) from None
    except SparseFormatError:
        raise Refused(STRERROR["EINVAL"]) from None
    say(link, protocol.okay("Flashing succeeded"))


def erase(handset, command, protocol, link) -> None:
    if not command.argument:
        raise Refused("Invalid arguments")
    _refuse_when_locked(handset, "Erase is not allowed on locked devices")
    if _size_of(handset, command.argument) is None:
        raise Refused("Partition doesn't exist")
    if _physical_size(handset, command.argument) is None:
        _dynamic(handset).super.erase_logical(command.argument, fastbootd_super.slot_number(handset))
    else:
        handset.storage.erase(command.argument)
    say(link, protocol.okay("Erasing succeeded"))


def set_active(handset, command, protocol, link) -> None:
    if not command.argument:
        raise Refused("Missing slot argument")
    _refuse_when_locked(handset, "set_active command is not allowed on locked devices")
    letter = command.argument
    if len(letter) != 1 or not "a" <= letter <= "z":
        raise Refused("Bad slot suffix")
    if handset.profile.slot_count != 2:
        raise Refused("Cannot set slot: boot control HAL absent")
    if letter not in SLOTS:
        raise Refused("Slot out of range")
    if letter != handset.meta.active:
        handset._save(slots.set_active(handset.meta, letter, handset.profile.max_retry_count))
    say(link, protocol.okay())


def fetch(handset, command, protocol, link) -> None:
    family = handset.family.in_mode(handset.mode)
    if not family.fetch_enabled:
        raise Refused("Fetch is not allowed on user build")
    _refuse_when_locked(handset, "Fetch is not allowed on locked devices")
    name, *numbers = command.argument.split(":") if command.argument else [""]
    if not command.argument:
        raise Refused("Missing partition arg")
    if name not in FETCH_ALLOWED:
        raise Refused(f"Fetch is only allowed on [{', '.join(FETCH_ALLOWED)}]")
    size_of_partition = _size_of(handset, name)
    if size_of_partition is None:
        raise Refused(f"Cannot open {name}")
    try:
        offset = int(numbers[0], 0) if numbers else 0
    except ValueError:
        raise Refused("Invalid offset, must be integer") from None
    if offset > size_of_partition:
        raise Refused(f"Invalid offset 0x{offset:x}, partition {name} has size 0x{size_of_partition:x}")
    size = size_of_partition - offset
    if len(numbers) > 1:
        try:
            size = int(numbers[1], 0)
        except ValueError:
            raise Refused("Invalid size, must be integer") from None
    if size == 0:
        say(link, protocol.okay("Read 0 bytes"))
        return
    if size > size_of_partition - offset:
        raise Refused(f"Invalid size to read 0x{size:x}, partition {name} has size 0x{size_of_partition:x} "
                      f"and fetching from offset 0x{offset:x}")
    if size > MAX_FETCH:
        raise Refused(f"Cannot fetch 0x{size_of_partition:x} bytes because it exceeds maximum transport "
                      f"size 0x{MAX_DOWNLOAD:x}")
    say(link, protocol.start_upload(size))
    for data in handset.storage.read(name, offset, size, PIECE):
        say(link, data)
        protocol.sent(len(data))
    # AOSP's message lacks its closing parenthesis.
    say(link, protocol.okay(f"Fetched {name} (offset=0x{offset:x}, size=0x{size:x}"))


def oem(handset, command, protocol, link) -> None:
    raise Refused("Unable to open fastboot HAL")


class FastbootdFamily(Family):
    start_mode = Mode.FASTBOOTD
    costs = FASTBOOTD_COSTS
    commands = {
        "getvar": getvar,
        "download": download,
        "flash": flash,
        "erase": erase,
        "set_active": set_active,
        "fetch": fetch,
        "oem": oem,
        "reboot": rebooter(Mode.ANDROID, "Rebooting"),
        "reboot-bootloader": rebooter(Mode.BOOTLOADER, "Rebooting bootloader"),
        "reboot-fastboot": rebooter(Mode.FASTBOOTD, "Rebooting fastboot"),
        "reboot-recovery": rebooter(Mode.RECOVERY, "Rebooting to recovery"),
    }

    def __init__(self, name: str, *, bootloader: Family | None = None,
                 dynamic: fastbootd_super.DynamicPartitions | None = None):
        super().__init__(name)
        self.fetch_enabled = name == "fastbootd-userdebug"
        self._bootloader = bootloader
        self.dynamic = dynamic
        """The phone's super partition and snapshot state, when it has dynamic partitions."""

    def usb_ids(self, profile) -> tuple[int, int]:
        return FASTBOOTD_USB_IDS

    def in_mode(self, mode: Mode) -> Family:
        if mode is Mode.FASTBOOTD:
            return self
        if self._bootloader is None:
            from .qualcomm import QualcommFamily  # the phone's bootloader half
            self._bootloader = QualcommFamily("qualcomm")
            self._bootloader._userspace = self
        return self._bootloader

    def route(self, command):
        # fastbootd splits the command at ':' and matches the first part exactly.
        name = command.text.split(":")[0] if command.name != "oem" else "oem"
        if self.dynamic is not None and name in fastbootd_super.COMMANDS:
            handler, dynamic = fastbootd_super.COMMANDS[name], self.dynamic
            return lambda handset, command, protocol, link: handler(
                handset, dynamic, protocol, link, command.text.split(":")[1:])
        return self.commands.get(name)

    def unknown_command(self, command) -> str:
        return f"Unrecognized command {command.text.split(':')[0]}"


def make(name: str) -> Family:
    return FastbootdFamily(name)
