"""A/B slot metadata of the virtual handset, modelled on Android's boot_control.

Each slot has `tries_remaining`, `successful` and `unbootable`; one slot is active.
The rules follow AOSP libboot_control and the bootloader side of A/B:

- `set_active` gives the slot a fresh set of tries and clears `successful` and
  `unbootable` (even when the slot was already active and successful, as Android does);
  the other slot is untouched.
- The bootloader boots the active slot. A slot that is not successful spends one try per
  attempt; one that is not successful and has no tries left is marked unbootable and
  the bootloader falls back to the other slot, if that one is bootable.
- Once a slot has booted, userspace (update_verifier) marks it successful. Android
  then sets its tries to 1, because "tries 0" reads as "not bootable" to some
  bootloaders; we do the same so `slot-retry-count` matches a real handset.

Everything here is a pure function over frozen values, except `SlotStore`, which keeps
the metadata in one small JSON file (slots.json) and replaces it atomically: a reader,
or the handset after a crash, sees the old state or the new one, never a mix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from flasher.atomic import write_atomically
from flasher.errors import FlasherError

SLOT_NAMES = ("a", "b")
# Android's bootloader_control keeps tries_remaining in 3 bits, so 7 is the most there is;
# libboot_control's kDefaultBootAttempts is 7 too.
MAX_TRIES = 7
DEFAULT_MAX_ATTEMPTS = 2 * MAX_TRIES + 2

_FORMAT = 1


class UnknownSlot(FlasherError):
    """A slot name that is not 'a' or 'b'."""


class SlotMetadataError(FlasherError):
    """Slot metadata that cannot be used: a damaged slots.json or an impossible change."""


def parse_slot(text: str) -> str:
    """Turn a host's slot argument into 'a' or 'b'.

    The 29.0.6 client sends a bare letter (`set_active:b`); older tools sent `_b`, so
    both are accepted.
    """
    slot = text[1:] if text.startswith("_") else text
    if slot not in SLOT_NAMES:
        raise UnknownSlot(
            f"no slot {text!r}: this device has slots a and b",
            hint="Name the slot by its letter, for example 'set_active a' or 'set_active b'.",
        )
    return slot


def other_slot(slot: str) -> str:
    """The slot that is not `slot`."""
    return "b" if parse_slot(slot) == "a" else "a"


@dataclass(frozen=True)
class SlotState:
    """One slot's boot_control fields."""

    tries_remaining: int
    successful: bool
    unbootable: bool

    def __post_init__(self) -> None:
        if type(self.tries_remaining) is not int or not 0 <= self.tries_remaining <= MAX_TRIES:
            raise SlotMetadataError(
                f"tries_remaining must be a whole number from 0 to {MAX_TRIES}, "
                f"not {self.tries_remaining!r}",
                hint=f"Use at most {MAX_TRIES} tries, the most Android's boot_control can hold.",
            )
        for name in ("successful", "unbootable"):
            if type(getattr(self, name)) is not bool:
                raise SlotMetadataError(
                    f"{name} must be true or false, not {getattr(self, name)!r}",
                    hint="Use a boolean.",
                )

    @property
    def bootable(self) -> bool:
        """Whether the bootloader may still pick this slot."""
        return not self.unbootable and (self.successful or self.tries_remaining > 0)

    def to_dict(self) -> dict:
        return {
            "tries_remaining": self.tries_remaining,
            "successful": self.successful,
            "unbootable": self.unbootable,
        }


@dataclass(frozen=True)
class SlotMetadata:
    """The whole A/B state: which slot is active and each slot's fields."""

    active: str
    a: SlotState
    b: SlotState

    def __post_init__(self) -> None:
        if self.active not in SLOT_NAMES:
            raise SlotMetadataError(
                f"active slot must be 'a' or 'b', not {self.active!r}",
                hint="Use 'a' or 'b'.",
            )
        for name in SLOT_NAMES:
            if not isinstance(getattr(self, name), SlotState):
                raise SlotMetadataError(
                    f"slot {name} has no state", hint="Give both slots a SlotState."
                )

    def slot(self, name: str) -> SlotState:
        """The state of slot `name` ('a' or 'b')."""
        return getattr(self, parse_slot(name))

    def with_slot(self, name: str, state: SlotState) -> SlotMetadata:
        """A copy with slot `name` set to `state`."""
        return replace(self, **{parse_slot(name): state})

    def to_dict(self) -> dict:
        """JSON-friendly form; the layout of slots.json."""
        return {
            "format": _FORMAT,
            "active": self.active,
            "slots": {name: self.slot(name).to_dict() for name in SLOT_NAMES},
        }

    @classmethod
    def from_dict(cls, data: object) -> SlotMetadata:
        """Inverse of `to_dict`; unknown or missing keys are a SlotMetadataError."""

        def fail(why: str) -> SlotMetadataError:
            return SlotMetadataError(
                f"bad slot metadata: {why}",
                hint="Write slot metadata with SlotMetadata.to_dict().",
            )

        if not isinstance(data, dict) or set(data) != {"format", "active", "slots"}:
            raise fail("expected the keys format, active and slots")
        if data["format"] != _FORMAT:
            raise fail(f"unsupported format {data['format']!r}")
        slots = data["slots"]
        if not isinstance(slots, dict) or set(slots) != set(SLOT_NAMES):
            raise fail("expected slots a and b")
        states = {}
        for name in SLOT_NAMES:
            fields = slots[name]
            if not isinstance(fields, dict) or set(fields) != {
                "tries_remaining",
                "successful",
                "unbootable",
            }:
                raise fail(f"slot {name} needs tries_remaining, successful and unbootable")
            states[name] = SlotState(**fields)
        return cls(active=data["active"], **states)


def factory_metadata() -> SlotMetadata:
    """What a handset fresh from the factory holds.

    Slot a carries the factory OS and has booted (successful, tries 1 as
    update_verifier leaves them); slot b has never been written, so it is unbootable
    with no tries and the bootloader can never fall back to its empty partitions.
    """
    return SlotMetadata(
        active="a",
        a=SlotState(tries_remaining=1, successful=True, unbootable=False),
        b=SlotState(tries_remaining=0, successful=False, unbootable=True),
    )


def set_active(meta: SlotMetadata, slot: str, max_tries: int = MAX_TRIES) -> SlotMetadata:
    """`fastboot set_active`: make `slot` active with fresh tries, as an unproven slot."""
    slot = parse_slot(slot)
    if type(max_tries) is not int or not 1 <= max_tries <= MAX_TRIES:
        raise SlotMetadataError(
            f"max_tries must be from 1 to {MAX_TRIES}, not {max_tries!r}",
            hint="Set max_retry_count in the device profile to a value from 1 to 7.",
        )
    fresh = SlotState(tries_remaining=max_tries, successful=False, unbootable=False)
    return replace(meta.with_slot(slot, fresh), active=slot)


def mark_successful(meta: SlotMetadata, slot: str) -> SlotMetadata:
    """What update_verifier does once `slot` has booted and passed its checks."""
    slot = parse_slot(slot)
    state = meta.slot(slot)
    if state.unbootable:
        raise SlotMetadataError(
            f"slot {slot} is marked unbootable; it cannot be marked successful",
            hint=f"Make it active first ('set_active {slot}') and boot it.",
        )
    # tries 1, not 0: as libboot_control, so a slot that succeeded on its last try
    # does not look spent.
    return meta.with_slot(slot, replace(state, successful=True, tries_remaining=1))


def mark_unbootable(meta: SlotMetadata, slot: str) -> SlotMetadata:
    """Mark `slot` unbootable, as update_engine does before writing to it."""
    slot = parse_slot(slot)
    state = replace(meta.slot(slot), unbootable=True, successful=False, tries_remaining=0)
    return meta.with_slot(slot, state)


@dataclass(frozen=True)
class BootOutcome:
    """What happened when the handset booted.

    `booted` is the slot that came up (None when nothing booted), `fell_back` whether
    the bootloader left the slot that was active, `events` a readable account in order,
    and `meta` the slot state to store afterwards.
    """

    meta: SlotMetadata
    booted: str | None
    fell_back: bool
    events: tuple[str, ...]


def attempt_boot(
    meta: SlotMetadata,
    slot_boots: Callable[[str], bool],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    *,
    marks_at_boot: bool = True,
) -> BootOutcome:
    """Run the bootloader's slot selection until a slot boots or none is left.

    `slot_boots(slot)` says whether the OS on `slot` comes up; False is a failed boot (a
    watchdog reset) and the bootloader tries again. A successful slot spends no tries,
    so one that keeps failing would loop for ever, as a real handset does: after
    `max_attempts` boots we stop and report the boot loop. A slot that boots and was
    not yet successful is marked successful here, standing in for update_verifier,
    unless `marks_at_boot` is False (a phone marks it once its boot completes).
    """
    events: list[str] = []
    fell_back = False
    attempts = 0
    while True:
        slot = meta.active
        state = meta.slot(slot)
        if not state.bootable:
            if state.unbootable:
                why = f"slot {slot} is unbootable"
            else:
                why = f"slot {slot} out of tries: marked unbootable"
                meta = mark_unbootable(meta, slot)
            other = other_slot(slot)
            if not meta.slot(other).bootable:
                events.append(f"{why}; slot {other} is not bootable either: no bootable slot")
                return BootOutcome(meta, None, fell_back, tuple(events))
            events.append(f"{why}, falling back to slot {other}")
            meta = replace(meta, active=other)
            fell_back = True
            continue

        if attempts >= max_attempts:
            events.append(
                f"slot {slot} keeps failing to boot: gave up after {attempts} attempts (boot loop)"
            )
            return BootOutcome(meta, None, fell_back, tuple(events))
        attempts += 1

        # The bootloader spends the try before it jumps to the kernel, so a crash
        # during boot has already been counted.
        if not state.successful:
            state = replace(state, tries_remaining=state.tries_remaining - 1)
            meta = meta.with_slot(slot, state)

        if slot_boots(slot):
            if state.successful:
                events.append(f"slot {slot} booted")
            elif not marks_at_boot:
                events.append(f"slot {slot} booted; not yet marked successful")
            else:
                meta = mark_successful(meta, slot)
                events.append(f"slot {slot} booted; update_verifier marked it successful")
            return BootOutcome(meta, slot, fell_back, tuple(events))

        if state.successful:
            events.append(f"slot {slot} failed to boot (successful slot: no tries spent)")
        else:
            events.append(
                f"slot {slot} failed to boot ({state.tries_remaining} tries left)"
            )


class SlotStore:
    """slots.json: the handset's A/B metadata on disk, replaced atomically.

    One handset (one process) owns a file.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def load(self) -> SlotMetadata:
        """The stored metadata; `factory_metadata()` when the file does not exist."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return factory_metadata()
        try:
            return SlotMetadata.from_dict(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, SlotMetadataError) as exc:
            raise SlotMetadataError(
                f"slot metadata {self.path} is damaged: {exc}",
                hint=f"Delete {self.path} to give the handset its factory slot state "
                "(slot a active), then set the active slot again.",
            ) from exc

    def save(self, meta: SlotMetadata) -> None:
        """Write `meta` so that a crash at any moment leaves the old or the new state."""
        write_atomically(self.path, (json.dumps(meta.to_dict(), indent=2, sort_keys=True) + "\n").encode())
