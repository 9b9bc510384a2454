"""Faults a test (or the torture harness) can inject into a virtual handset.

Each hook is checked at the point where a real handset would fail that way:
the link drops mid-download, a command is refused, the device goes silent,
a slot does not boot.
"""

import threading
from dataclasses import dataclass, field

from ..errors import FlasherError


class BadFault(FlasherError):
    hint = ("Faults are KIND:ARGUMENT: stall:flash:system=2, fail:set_active=busy, drop-on:fetch:=2, "
            "drop-after:1000000, discard:system_b, boot-fails:b, line-errors:100000, answer:serialno=VALUE, "
            "snapshot:merging")


@dataclass
class Faults:
    drop_after_bytes: int | None = None
    """Close the link once this many download bytes have arrived since it was set (fires once)."""

    drop_on_command: str | None = None
    """Close the link when a command starting with this arrives (fires once) ..."""

    drop_on_count: int = 1
    """... the drop_on_count-th time it arrives."""

    fail_commands: dict[str, str] = field(default_factory=dict)
    """Command prefix -> FAIL text, e.g. {"flash:system": "flash write failure"}."""

    stall_commands: dict[str, float] = field(default_factory=dict)
    """Command prefix -> seconds of silence before the handset answers."""

    garbage_for: dict[str, bytes] = field(default_factory=dict)
    """Command prefix -> raw bytes sent instead of a response (malformed or oversized)."""

    max_download_claim: int | None = None
    """A max-download-size to report that the handset does not honour (it lies)."""

    discard_flash: set[str] = field(default_factory=set)
    """Partitions (slot stems, e.g. "system_b") whose flash answers OKAY but writes nothing."""

    boot_fails: set[str] = field(default_factory=set)
    """Slots whose boot fails (a watchdog reset), as a corrupt image would."""

    line_error_every: int | None = None
    """Serial download mode: on average one flipped bit or dropped byte per this many bytes, both ways."""

    answers: dict[str, str] = field(default_factory=dict)
    """Variable -> the value getvar answers instead, past the profile's checks (a hostile serialno)."""
    snapshot_update: str | None = None
    """A phone with dynamic partitions powers on with this Virtual A/B state: `snapshotted`
    (an OTA waits for its reboot) or `merging` (the new slot's snapshots are being merged)."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _seen: int = field(default=0, repr=False, compare=False)

    def drop_point(self, arriving: int) -> int | None:
        """For a piece of `arriving` download bytes: how many to keep before the link drops,
        or None to keep them all."""
        with self._lock:
            if self.drop_after_bytes is None:
                return None
            if self._seen + arriving < self.drop_after_bytes:
                self._seen += arriving
                return None
            keep = self.drop_after_bytes - self._seen
            self.drop_after_bytes, self._seen = None, 0
            return keep

    def take_drop_on(self, command: str) -> bool:
        with self._lock:
            if self.drop_on_command is None or not command.startswith(self.drop_on_command):
                return False
            self.drop_on_count -= 1
            if self.drop_on_count > 0:
                return False
            self.drop_on_command, self.drop_on_count = None, 1
            return True

    def garbage(self, command: str) -> bytes | None:
        return _match(self.garbage_for, command)

    def failure_for(self, command: str) -> str | None:
        return _match(self.fail_commands, command)

    def stall_for(self, command: str) -> float:
        return _match(self.stall_commands, command) or 0.0

    def boots(self, slot: str) -> bool:
        return slot not in self.boot_fails


def _match(table: dict, command: str):
    for prefix, value in list(table.items()):
        if command.startswith(prefix):
            return value
    return None


SNAPSHOT_STATES = ("none", "snapshotted", "merging", "cancelled")


def apply_fault(faults: Faults, spec: str) -> None:
    """Set one fault from its text form (the emulator's --fault), e.g. `stall:flash:system=2`."""
    kind, _, argument = spec.partition(":")
    try:
        if kind == "stall":
            prefix, _, seconds = argument.rpartition("=")
            faults.stall_commands[_prefix(prefix, spec)] = float(seconds)
        elif kind == "fail":
            prefix, _, message = argument.partition("=")
            faults.fail_commands[_prefix(prefix, spec)] = message or "injected failure"
        elif kind == "drop-on":
            prefix, _, count = argument.rpartition("=") if "=" in argument else (argument, "", "1")
            faults.drop_on_command, faults.drop_on_count = _prefix(prefix, spec), int(count)
        elif kind == "drop-after":
            faults.drop_after_bytes = int(argument)
        elif kind == "discard":
            faults.discard_flash.add(_prefix(argument, spec))
        elif kind == "boot-fails":
            faults.boot_fails.add(argument)
        elif kind == "line-errors":
            faults.line_error_every = int(argument)
        elif kind == "snapshot":
            if argument not in SNAPSHOT_STATES:
                raise BadFault(f"fault {spec!r}: the snapshot state is one of {', '.join(SNAPSHOT_STATES)}")
            faults.snapshot_update = argument
        elif kind == "answer":
            name, _, value = argument.partition("=")
            faults.answers[_prefix(name, spec)] = value
        else:
            raise BadFault(f"unknown fault {kind!r} in {spec!r}")
    except ValueError:
        raise BadFault(f"fault {spec!r}: the number is not a number") from None


def _prefix(prefix: str, spec: str) -> str:
    if not prefix:
        raise BadFault(f"fault {spec!r} names no command or partition")
    return prefix
