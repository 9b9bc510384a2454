"""Device families: whose fastboot a virtual handset speaks.

Each module holds one family: its variable table, the commands it knows, its
error wordings, what it does after a reboot and what its work costs. The
`reference` family is TSUF's own handset; the others behave on the wire as
U-Boot, barebox, AOSP's fastbootd and Qualcomm's ABL do, and `android` is a whole
phone with dynamic partitions (ABL, then fastbootd serving super) (see
docs/real-handsets.md). Modules load on first use: the profile checks names
from `names.py` without importing the handset.
"""

from importlib import import_module

from .names import DEFAULT_FAMILY, FAMILY_NAMES

_MODULES = {
    "reference": "reference",
    "uboot": "uboot",
    "barebox": "barebox",
    "fastbootd": "fastbootd",
    "fastbootd-userdebug": "fastbootd",
    "qualcomm": "qualcomm",
    "android": "android",
}


def family_named(name: str):
    """A fresh Family for `name` (one of FAMILY_NAMES)."""
    if name not in FAMILY_NAMES:
        raise ValueError(f"unknown device family {name!r}: one of {', '.join(FAMILY_NAMES)}")
    module = import_module(f".{_MODULES[name]}", __name__)
    return module.make(name)


__all__ = ["DEFAULT_FAMILY", "FAMILY_NAMES", "family_named"]
