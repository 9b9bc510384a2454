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


def parse_size(name: str, value: str) -> int:
    """Sizes come as hex (`0x10000000`, fastbootd) or decimal (Qualcomm ABL)."""
    text = value.strip()
    try:
        size = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise BadVariable(f"{name} is {value!r}, not a size") from None
    if size < 0:
        raise BadVariable(f"{name} is negative ({value!r})")
    return size


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
