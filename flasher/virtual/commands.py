"""The reference bootloader's fastboot commands: one handler per command, and the table
that names them (as AOSP's device side keeps its handlers in commands.cpp).

Each handler is `handler(handset, command, protocol, link)`; a refusal raises Refused
(or lock.LockRefused), which `Handset` answers with FAIL and logs in `refused`. The
reference family answers with this table; Qualcomm's ABL shares `flashing`.
"""

from ..protocol.device import Command, DeviceProtocol
from ..protocol.variables import WITH_ARGUMENT
from ..transport.base import Transport
from . import getvars, lock, slots
from .handset import DATA_TIMEOUT, PIECE, Handset, Mode, Refused, _EndSession
from .profile import UnknownPartition


def getvar(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    pairs = getvars.all_variables(handset.profile, handset.meta, userspace=handset.mode is Mode.FASTBOOTD,
                                  unlocked=handset.unlocked)
    pairs += _vendor_variables(handset)
    if handset.faults.max_download_claim is not None:
        pairs = [(key, f"0x{handset.faults.max_download_claim:x}" if key == "max-download-size" else value)
                 for key, value in pairs]
    pairs = [(key, handset.faults.answers.get(key, value)) for key, value in pairs]
    if command.argument == "all":
        for key, value in pairs:
            link.write(protocol.info(f"{key}:{value}"), DATA_TIMEOUT)
        link.write(protocol.okay(), DATA_TIMEOUT)
        return
    table = dict(pairs)
    value = table.get(command.argument)
    if value is None:
        value = table.get(_current_slot_key(handset, command.argument))
    if value is None:
        raise Refused("GetVar Variable Not found")
    link.write(protocol.okay(value), DATA_TIMEOUT)


def _vendor_variables(handset: Handset) -> list[tuple[str, str]]:
    """What this bench bootloader adds when it verifies boot: the running build ("none" while
    no verified build has booted) and the stored rollback index."""
    if not handset.verified_boot.enabled:
        return []
    return [("build", handset.running_build),
            ("rollback-index", str(handset.verified_boot.stored_rollback_index))]


def _current_slot_key(handset: Handset, key: str) -> str | None:
    """`partition-size:boot` asks about the current slot's boot."""
    name, _, argument = key.partition(":")
    if name not in WITH_ARGUMENT or not argument:
        return None
    try:
        return f"{name}:{_stem(handset, argument)}"
    except UnknownPartition:
        return None


def download(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    if not 0 < len(command.argument) <= 8 or not all(c in _HEX for c in command.argument):
        raise Refused(f"bad download size {command.argument!r}: eight hex digits expected")
    size = int(command.argument, 16)
    if size > handset.profile.max_download_size:
        raise Refused(f"data too large: {size} > max-download-size {handset.profile.max_download_size}")
    handset.receive_download(size, protocol, link)
    link.write(protocol.okay(), DATA_TIMEOUT)


def flash(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    stem = _writable_stem(handset, command.argument, lock.FLASH_REFUSED)
    if not handset.staged_size:
        raise Refused("no image downloaded: send one with download first")
    handset.write_staged(stem)
    link.write(protocol.okay(), DATA_TIMEOUT)


def erase(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    handset.storage.erase(_writable_stem(handset, command.argument, lock.ERASE_REFUSED))
    link.write(protocol.okay(), DATA_TIMEOUT)


def fetch(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    name, *numbers = command.argument.split(":")
    stem = _stem(handset, name)
    size_of_partition = handset.storage.size(stem)
    try:
        offset = int(numbers[0], 16) if numbers else 0
        size = int(numbers[1], 16) if len(numbers) > 1 else size_of_partition - offset
    except ValueError:
        raise Refused(f"bad fetch range {command.argument!r}") from None
    if offset < 0 or size < 0 or offset + size > size_of_partition:
        raise Refused(f"fetch range past the end of {stem} ({size_of_partition} bytes)")
    if size > handset.profile.max_download_size:
        raise Refused(f"fetch of {size} bytes exceeds max-fetch-size")
    link.write(protocol.start_upload(size), DATA_TIMEOUT)
    for data in handset.storage.read(stem, offset, size, PIECE):
        link.write(data, DATA_TIMEOUT)
        protocol.sent(len(data))
    link.write(protocol.okay(), DATA_TIMEOUT)


def upload(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    staged_size = handset.staged_size
    link.write(protocol.start_upload(staged_size), DATA_TIMEOUT)
    if not staged_size:
        link.write(protocol.okay(), DATA_TIMEOUT)
        return
    with open(handset.storage.download_path(), "rb") as staged:
        left = staged_size
        while left:
            data = staged.read(min(PIECE, left))
            link.write(data, DATA_TIMEOUT)
            protocol.sent(len(data))
            left -= len(data)
    link.write(protocol.okay(), DATA_TIMEOUT)


def set_active(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    if handset.profile.slot_count != 2:
        raise Refused("this device has no slots")
    if not handset.unlocked:
        raise lock.LockRefused(lock.SLOT_CHANGE_REFUSED)
    try:
        slot = slots.parse_slot(command.argument)
    except slots.UnknownSlot:
        raise Refused(f"invalid slot {command.argument!r}") from None
    handset._save(slots.set_active(handset.meta, slot, handset.profile.max_retry_count))
    link.write(protocol.okay(), DATA_TIMEOUT)


def reboot(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    target = command.argument or command.name.partition("-")[2]
    if command.name == "continue":
        target = ""
    if target not in _REBOOT_TARGETS:
        raise Refused(f"unknown reboot target {target!r}")
    link.write(protocol.okay(), DATA_TIMEOUT)
    handset._begin_reboot(_REBOOT_TARGETS[target])
    raise _EndSession(f"rebooting to {target or 'the OS'}")


def flashing(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    """`flashing get_unlock_ability`, `unlock` and `lock`. A real handset asks its user to
    confirm an unlock on its screen; this one accepts at once."""
    if command.argument == "get_unlock_ability":
        link.write(protocol.info(lock.unlock_ability_line(handset.profile.unlock_ability)), DATA_TIMEOUT)
    elif command.argument in ("unlock", "lock"):
        want_unlocked = command.argument == "unlock"
        lock.change(handset.unlocked, want_unlocked, handset.profile.unlock_ability)
        _wipe_data(handset)  # first: a crash must never leave an unlocked handset with its data
        handset.lock_store.save(want_unlocked)
        handset.unlocked = want_unlocked
        handset._log.info("bootloader %sed; user data wiped", command.argument)
    else:
        raise Refused(f"flashing {command.argument} is not supported on this device")
    link.write(protocol.okay(), DATA_TIMEOUT)


def refuse(handset: Handset, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
    raise Refused(f"{command.name} is not supported on this device")


def _stem(handset: Handset, name: str) -> str:
    _partition, _slot, stem = handset.profile.resolve(name, handset.meta.active)
    return stem


def _wipe_data(handset: Handset) -> None:
    try:
        stem = _stem(handset, lock.WIPED_ON_CHANGE)
    except UnknownPartition:
        return  # a profile without user data has none to lose
    handset.storage.erase(stem)


def _writable_stem(handset: Handset, name: str, refusal: str) -> str:
    """The stem to write, unless a locked bootloader protects the partition."""
    partition, _slot, stem = handset.profile.resolve(name, handset.meta.active)
    if partition.protected and not handset.unlocked:
        raise lock.LockRefused(refusal)
    return stem


_HEX = frozenset("0123456789abcdefABCDEF")

_REBOOT_TARGETS = {
    "": Mode.ANDROID,
    "bootloader": Mode.BOOTLOADER,
    "fastboot": Mode.FASTBOOTD,
    "recovery": Mode.RECOVERY,
}

COMMANDS = {
    "getvar": getvar,
    "download": download,
    "flash": flash,
    "erase": erase,
    "fetch": fetch,
    "upload": upload,
    "set_active": set_active,
    "reboot": reboot,
    "reboot-bootloader": reboot,
    "reboot-fastboot": reboot,
    "reboot-recovery": reboot,
    "continue": reboot,
    "boot": refuse,
    "oem": refuse,
    "flashing": flashing,
}
"""Command name -> handler: what the reference bootloader answers."""
