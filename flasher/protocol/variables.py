"""Standard getvar names and the formats devices use for their values."""

from ..errors import FlasherError

VERSION = "0.4"

# Variables that take an argument: `name:arg`, so getvar:all prints `name:arg:value`.
WITH_ARGUMENT = frozenset({
    "partition-size", "partition-type", "has-slot", "is-logical",
    "slot-successful", "slot-unbootable", "slot-retry-count",
})


class BadVariable(FlasherError):
    """A variable's value is not in the format fastboot defines for it."""

    hint = "The device reported a value TSUF cannot use; check its bootloader version."


def parse_size(name: str, value: str, *, bare_hex: bool = False) -> int:
    """Sizes come as hex with `0x` (fastbootd, U-Boot), hex without it (barebox: `0a000000`;
    `bare_hex` when the device is known to print them so) or decimal (Qualcomm ABL)."""
    text = value.strip()
    hex_digits = text[2:] if text.lower().startswith("0x") else text
    as_hex = text.lower().startswith("0x") or bare_hex or any(c in "abcdefABCDEF" for c in text)
    if not hex_digits or len(hex_digits) > 16 or not all(c in _HEX if as_hex else c.isdigit() for c in hex_digits):
        raise BadVariable(f"{name} is {value!r}, not a size")
    return int(hex_digits, 16) if as_hex else int(hex_digits, 10)


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_yes_no(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0", ""):
        return False
    raise BadVariable(f"{name} is {value!r}, not yes or no")


def parse_slot(name: str, value: str) -> str:
    """`a`, or `_a` as some devices say it."""
    slot = value.strip().lstrip("_")
    if len(slot) != 1 or not slot.isalpha():
        raise BadVariable(f"{name} is {value!r}, not a slot letter")
    return slot.lower()


def split_all_line(line: str) -> tuple[str, str] | None:
    """Split one `getvar:all` INFO line into (key, value).

    A key with an argument keeps it: `partition-size:boot_a` -> `0x4000000`.
    Lines that are not `name:value` return None (vendors print banners).
    """
    name, found, rest = line.partition(":")
    if not found:
        return None
    name = name.strip()
    if name in WITH_ARGUMENT:
        argument, found, value = rest.partition(":")
        if not found:
            return None
        return f"{name}:{argument.strip()}", value.strip()
    return name, rest.strip()
