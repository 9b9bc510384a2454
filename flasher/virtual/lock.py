"""The bootloader lock: whether the handset lets a host write its partitions.

A locked bootloader refuses to flash or erase a protected partition and to
change slots, with the words Qualcomm's ABL uses (a ZTE handset's
bootloader). `flashing unlock` works only when the unlock ability is 1 (the
"OEM unlocking" switch in Android's developer settings); unlocking and
locking both wipe userdata, as on real handsets.

The lock lives in `lock.json` beside the partitions, so it survives reboots
and emulator restarts; until the handset's lock is first changed, the
profile's factory state (`unlocked`) holds.
"""

import json
from pathlib import Path

from ..atomic import write_atomically
from ..errors import FlasherError

# What Qualcomm ABL answers (FastbootCmds.c); hosts recognise these words.
FLASH_REFUSED = "Flashing is not allowed in Lock State"
ERASE_REFUSED = "Erase is not allowed in Lock State"
SLOT_CHANGE_REFUSED = "Slot Change is not allowed in Lock State"
UNLOCK_REFUSED = "Flashing Unlock is not allowed"

WIPED_ON_CHANGE = "userdata"


class LockRefused(FlasherError):
    """A command a locked bootloader refuses; the handset answers FAIL with the message."""


class LockFileError(FlasherError):
    """A lock.json the handset cannot read."""


class LockStore:
    """lock.json: `{"format": 1, "unlocked": true}`, replaced atomically."""

    def __init__(self, path: Path, factory_unlocked: bool):
        self.path = Path(path)
        self.factory_unlocked = factory_unlocked

    def load(self) -> bool:
        """Whether the bootloader is unlocked: the stored state, else the factory one."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return self.factory_unlocked
        try:
            data = json.loads(raw.decode("utf-8"))
            unlocked = data["unlocked"]
            if data.get("format") != 1 or type(unlocked) is not bool:
                raise ValueError("expected format 1 and unlocked true or false")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise LockFileError(f"lock state {self.path} is damaged: {exc}",
                                hint=f"Delete {self.path} to give the handset its factory lock state.") from exc
        return unlocked

    def save(self, unlocked: bool) -> None:
        write_atomically(self.path, (json.dumps({"format": 1, "unlocked": unlocked}) + "\n").encode())


def change(unlocked_now: bool, want_unlocked: bool, unlock_ability: bool) -> None:
    """Raise what the bootloader answers when `flashing unlock`/`lock` cannot be done."""
    if unlocked_now == want_unlocked:
        raise LockRefused(f"Device already : {'unlocked' if unlocked_now else 'locked'}!")
    if want_unlocked and not unlock_ability:
        raise LockRefused(UNLOCK_REFUSED)


def unlock_ability_line(unlock_ability: bool) -> str:
    """The INFO line of `flashing get_unlock_ability` (the client prints it as `(bootloader) ...`)."""
    return f"get_unlock_ability: {int(unlock_ability)}"
