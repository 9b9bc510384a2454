"""What every device family defines, and the defaults most share."""

import dataclasses
from dataclasses import dataclass

from ..handset import DATA_TIMEOUT, Mode, Refused
from ..handset import _EndSession as EndSession


@dataclass(frozen=True)
class DeviceCosts:
    """Seconds the device spends on its own work, at cost_scale 1 (docs/real-handsets.md)."""

    command: float = 0.0
    """Per command: the bootloader's loop, USB turnaround, property or HAL calls."""
    write_rate: float = 0.0
    """Bytes per second its storage writes (0: instant)."""
    write_call: float = 0.0
    """Per separate write: each sparse chunk, and each `write_piece` of a long one."""
    write_piece: int = 0
    """The most one write covers (U-Boot: 16384 blocks; barebox: its 128 KiB buffer); 0: no limit."""

    def seconds_to_write(self, size: int, chunks: int) -> float:
        calls = max(chunks, -(-size // self.write_piece) if self.write_piece else 0)
        return (size / self.write_rate if self.write_rate else 0.0) + calls * self.write_call


class Family:
    """A device family. Subclasses set the class attributes and their command table."""

    name = ""
    slots = True
    """Has A/B slots; a family without them serves every partition unslotted."""
    returns_from_os = False
    """After booting the OS, comes back to fastboot by itself (only the reference does)."""
    start_mode = Mode.BOOTLOADER
    costs = DeviceCosts()
    raw_block = 1
    """A raw image is written in whole blocks of this size."""
    commands: dict = {}
    """Command name -> handler(handset, command, protocol, link)."""

    def __init__(self, name: str):
        self.name = name

    def fit(self, profile):
        """The profile as this family's device has it: named for the family, and without
        slots where the family has none."""
        if profile.family != self.name:
            profile = dataclasses.replace(profile, family=self.name)
        if self.slots or profile.slot_count == 0:
            return profile
        return dataclasses.replace(
            profile, slot_count=0,
            partitions=tuple(dataclasses.replace(p, slotted=False) for p in profile.partitions))

    def prepare(self, handset) -> None:
        """Set up what the device keeps in its storage beyond partition files (a phone's super)."""

    def factory_write(self, handset, partition: str, slot: str, path) -> bool:
        """Program an image the factory way where the device keeps it other than in a partition
        file (a phone's logical partitions); False leaves it to the handset."""
        return False

    def usb_ids(self, profile) -> tuple[int, int]:
        """(vendor, product) the device enumerates with on USB."""
        return profile.usb_vendor_id, profile.usb_product_id

    def in_mode(self, mode: Mode) -> "Family":
        """The family answering in `mode` (a phone's fastbootd is not its bootloader)."""
        return self

    def route(self, command):
        """The handler for `command`, or None when the device does not know it."""
        return self.commands.get(command.name)

    def unknown_command(self, command) -> str:
        """The FAIL text for a command the device does not know."""
        raise NotImplementedError


def say(link, packet: bytes) -> None:
    link.write(packet, DATA_TIMEOUT)


def rebooter(destination: Mode, answer: str = ""):
    """A handler that answers OKAY`answer` and leaves for `destination`."""
    def reboot(handset, command, protocol, link) -> None:
        say(link, protocol.okay(answer))
        handset._begin_reboot(destination)
        raise EndSession(f"rebooting to {destination.value}")
    return reboot


__all__ = ["DATA_TIMEOUT", "DeviceCosts", "EndSession", "Family", "Mode", "Refused", "rebooter", "say"]
