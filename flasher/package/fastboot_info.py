"""fastboot-info.txt: the flashing plan newer factory images carry (Android 14 and later).

    version 1
    flash init_boot
    flash --apply-vbmeta vbmeta
    flash --slot-other system system_other.img
    reboot fastboot
    update-super
    flash system
    if-wipe erase userdata

TSUF takes from it which images are written, and in which order; the reboot into
fastbootd and `update-super` are steps TSUF's own update makes where super_empty.img
says so. Images for the other slot are left out (the slot that runs keeps the last good
build), and `if-wipe` lines only apply to a wipe, which an update never makes. A
command TSUF cannot follow is refused before anything is written, never skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ManifestError

MAX_FASTBOOT_INFO_BYTES = 64 * 1024
MAX_COMMANDS = 256
SUPPORTED_VERSION = 1
_PARTITION = re.compile(r"[a-z0-9][a-z0-9_-]{0,35}\Z")
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.img\Z")
_REBOOT_TARGETS = ("fastboot", "bootloader", "recovery")
_FLASH_OPTIONS = ("--apply-vbmeta", "--slot-other")


class FastbootInfoError(ManifestError):
    hint = "The factory images' fastboot-info.txt is damaged or newer than this TSUF; download them again."


class FactoryPlanUnsupported(ManifestError):
    hint = ("These factory images ask for a step an update does not take; flash them with the "
            "manufacturer's instructions, or ask for a package made for TSUF.")


@dataclass(frozen=True)
class PlannedImage:
    partition: str
    image: str
    """The file in the factory images (`system_other.img` for `flash --slot-other system system_other.img`)."""
    other_slot: bool = False


@dataclass(frozen=True)
class FastbootInfo:
    images: tuple[PlannedImage, ...]
    wipes: tuple[str, ...]
    """Partitions erased only when a wipe is asked (`if-wipe erase NAME`)."""

    @property
    def written(self) -> tuple[PlannedImage, ...]:
        """The images an update writes: those of the slot being updated."""
        return tuple(image for image in self.images if not image.other_slot)


def parse_fastboot_info(text: str) -> FastbootInfo:
    if len(text.encode("utf-8", "replace")) > MAX_FASTBOOT_INFO_BYTES:
        raise FastbootInfoError(f"fastboot-info.txt is larger than {MAX_FASTBOOT_INFO_BYTES} bytes")
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) > MAX_COMMANDS:
        raise FastbootInfoError(f"fastboot-info.txt has more than {MAX_COMMANDS} commands")
    if not lines or lines[0][1][0] != "version" or len(lines[0][1]) != 2 or not lines[0][1][1].isdigit():
        raise FastbootInfoError("fastboot-info.txt does not start with `version N`")
    if int(lines[0][1][1]) > SUPPORTED_VERSION:
        raise FastbootInfoError(f"fastboot-info.txt is version {lines[0][1][1][:8]}; this TSUF reads version "
                                f"{SUPPORTED_VERSION}", "Update TSUF to flash these factory images.")
    images: list[PlannedImage] = []
    wipes: list[str] = []
    for number, words in lines[1:]:
        command, arguments = words[0], words[1:]
        if command == "flash":
            images.append(_flash(arguments, number))
        elif command == "reboot" and len(arguments) <= 1 and all(a in _REBOOT_TARGETS for a in arguments):
            continue
        elif command == "update-super" and not arguments:
            continue
        elif command == "if-wipe" and len(arguments) == 2 and arguments[0] == "erase" and _PARTITION.match(arguments[1]):
            wipes.append(arguments[1])
        elif command == "erase":
            raise FactoryPlanUnsupported(f"fastboot-info.txt line {number} erases a partition on every flash; "
                                         "an update never erases the user's data")
        else:
            raise FastbootInfoError(f"fastboot-info.txt line {number}: `{command[:32]}` is not a command "
                                    "this TSUF knows")
    if len({(image.partition, image.other_slot) for image in images}) != len(images):
        raise FastbootInfoError("fastboot-info.txt flashes a partition twice")
    return FastbootInfo(tuple(images), tuple(wipes))


def _flash(arguments: list[str], number: int) -> PlannedImage:
    options = [word for word in arguments if word.startswith("--")]
    names = [word for word in arguments if not word.startswith("--")]
    if any(option not in _FLASH_OPTIONS for option in options) or not 1 <= len(names) <= 2:
        raise FastbootInfoError(f"fastboot-info.txt line {number} is not `flash [--apply-vbmeta] "
                                "[--slot-other] PARTITION [IMAGE]`")
    partition = names[0]
    image = names[1] if len(names) == 2 else f"{partition}.img"
    if not _PARTITION.match(partition) or not _IMAGE.match(image):
        raise FastbootInfoError(f"fastboot-info.txt line {number} names no partition and image file")
    return PlannedImage(partition, image, "--slot-other" in options)
