"""What a connected handset can do: probed once per connection, read by every decision.

Real device-side fastboot differs from one bootloader to the next (see
docs/real-handsets.md): U-Boot answers `current-slot: a` without having
slots, barebox prints sizes in hex without `0x` and no serial number,
fastbootd reads back only vendor_boot, phone bootloaders report no build.
So nothing is guessed from a single variable, and what a handset does not
offer stays `None` ("not available") for the decision to handle, never a
default that lets a check pass.

The model asks `getvar:all` once, when a decision first needs a variable,
then each variable a decision needs that the listing lacked, when it needs it.
A connection for one command (`tsuf flash`, `erase`, ...) skips the listing and
asks only the variables that command reads, as the stock client does: a phone
sends the listing a line at a time, about a hundred lines, for a command that
reads three. A variable answered with FAIL (any wording) or an empty OKAY is
absent. Every answer, and read-back support, is kept for the connection.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .protocol import variables
from .protocol.errors import CommandFailed

if TYPE_CHECKING:
    from .fastboot import FastbootDevice

# Partitions nearly every handset has: one answering `partition-size` shows that sizes are
# answered on request, so a name without one is not a partition (a typo), refused before any upload.
COMMON_PARTITIONS = ("boot", "boot_a", "system", "system_a", "userdata")

USERSPACE_READABLE = "vendor_boot"
"""What fastbootd reads back on a user build."""

READ_PROBE_SIZE = 4096
"""Bytes a read-back probe asks for: enough to tell 'allowed' from 'refused'."""

# FAIL wordings that mean the command does not exist at all (U-Boot, barebox, ABL, fastbootd).
_UNKNOWN_COMMAND = re.compile(r"unknown command|unrecognized command|unsupported command|invalid command|"
                              r"command not (supported|implemented)|not implemented", re.IGNORECASE)
_BARE_HEX = re.compile(r"[0-9a-f]*[a-f][0-9a-f]*|0[0-9a-f]{7,}", re.IGNORECASE)


class Capabilities:
    """One connection's view of a handset. Properties return None where the handset does not say."""

    def __init__(self, device: FastbootDevice, *, listing: bool = True):
        self._device = device
        # None until the listing was asked for; without the listing, each variable is asked on its own.
        self._values: dict[str, str | None] | None = None if listing else {}
        self._readable: dict[str, bool] = {}
        self.fetch_command: bool | None = None
        """False once the handset answered that it has no fetch command; None until asked."""

    # -- probing ---------------------------------------------------------------

    def _known(self) -> dict[str, str | None]:
        """Every answer so far, starting with the handset's own listing (asked once)."""
        if self._values is None:
            try:
                self._values = self._device.getvar_all()
            except CommandFailed:
                self._values = {}  # not every bootloader lists its variables; each is asked on its own
        return self._values

    def value(self, name: str) -> str | None:
        """A variable's text; None when the handset does not offer it."""
        known = self._known()
        if name not in known:
            known[name] = self._device.getvar_optional(name)
        return known[name] or None

    def refresh(self, name: str) -> str | None:
        """Ask again: for state that commands change (current-slot after set_active)."""
        self._known().pop(name, None)
        return self.value(name)

    @property
    def variables(self) -> dict[str, str]:
        """Every variable the handset offered so far."""
        return {name: value for name, value in self._known().items() if value}

    # -- sizes -----------------------------------------------------------------

    @property
    def bare_hex(self) -> bool:
        """Partition sizes come as hex without `0x` (barebox prints `%08x`, and its
        max-download-size in decimal): known from the bootloader naming itself, or from a
        partition size that can only be hex."""
        if any(_BARE_HEX.fullmatch(value.strip()) for name, value in self.variables.items()
               if name.startswith("partition-size:")):
            return True  # known without another question
        return any("barebox" in (self.value(name) or "").lower() for name in ("bootloader-version", "version-bootloader"))

    def size(self, name: str) -> int | None:
        value = self.value(name)
        if value is None:
            return None
        # Only a partition size without `0x` can be barebox's bare hex: only then is the bootloader asked its name.
        maybe_bare = name.startswith("partition-size:") and not value.strip().lower().startswith("0x")
        return variables.parse_size(name, value, bare_hex=maybe_bare and self.bare_hex)

    @property
    def max_download_size(self) -> int | None:
        return self.size("max-download-size")

    def partition_size(self, partition: str) -> int | None:
        return self.size(f"partition-size:{partition}")

    @property
    def reports_partition_sizes(self) -> bool:
        """Whether a missing `partition-size:X` means X does not exist: the handset lists the others'
        sizes, or answers them when asked (U-Boot has no listing but answers for each partition)."""
        if any(name.startswith("partition-size:") for name in self.variables):
            return True
        return any(self.partition_size(name) is not None for name in COMMON_PARTITIONS)

    # -- identity, lock and battery ----------------------------------------------

    @property
    def serialno(self) -> str | None:
        return self.value("serialno")

    @property
    def product(self) -> str | None:
        return self.value("product")

    @property
    def hw_revision(self) -> str | None:
        return self.value("hw-revision")

    @property
    def build(self) -> str | None:
        """The running build; only bench bootloaders that TSUF set up say it."""
        return self.value("build")

    @property
    def rollback_index(self) -> int | None:
        return self.size("rollback-index")

    @property
    def unlocked(self) -> bool | None:
        value = self.value("unlocked")
        return None if value is None else variables.parse_yes_no("unlocked", value)

    @property
    def userspace(self) -> bool:
        """fastbootd (Android's userspace fastboot) rather than the bootloader."""
        return variables.parse_yes_no("is-userspace", self.value("is-userspace") or "no")

    # -- dynamic partitions --------------------------------------------------------

    @property
    def super_partition_name(self) -> str | None:
        """The physical partition holding the logical ones (fastbootd); the stock client assumes
        `super` where it is not said."""
        return self.value("super-partition-name")

    def is_logical(self, partition: str) -> bool | None:
        """Whether `partition` lives inside super; None where the handset does not say
        (a bootloader does not know: super_empty.img tells)."""
        value = self.value(f"is-logical:{partition}")
        return None if value is None else variables.parse_yes_no(f"is-logical:{partition}", value)

    @property
    def snapshot_update_status(self) -> str | None:
        """Virtual A/B: `none`, `snapshotted`, `merging` or `cancelled`; asked afresh each time."""
        return self.refresh("snapshot-update-status")

    @property
    def battery_mv(self) -> int | None:
        value = self.value("battery-voltage")
        if value is None:
            return None
        number = value.strip().lower().removesuffix("mv").strip()
        return int(number) if number.isdigit() else None

    @property
    def battery_ok(self) -> bool | None:
        value = self.value("battery-soc-ok")
        return None if value is None else variables.parse_yes_no("battery-soc-ok", value)

    # -- slots -------------------------------------------------------------------

    @property
    def slots(self) -> tuple[str, ...]:
        """Slot letters, from `slot-count` or, where that is absent, `has-slot:boot`; never from
        `current-slot` alone (U-Boot answers `a` without slots)."""
        count = self.value("slot-count")
        if count is not None:
            number = int(count) if count.strip().isdigit() else 0
            return tuple("abcd"[:number]) if 2 <= number <= 4 else ()
        return ("a", "b") if self.has_slot("boot") else ()

    @property
    def current_slot(self) -> str | None:
        """The active slot on a handset with slots; None otherwise or when it does not say."""
        return self.reported_slot if self.slots else None

    @property
    def reported_slot(self) -> str | None:
        """`current-slot` as answered: the active copy of a partition whose `has-slot` says yes
        (as the stock client reads it), never proof of slots by itself."""
        value = self.value("current-slot")
        return variables.parse_slot("current-slot", value) if value else None

    @property
    def inactive_slot(self) -> str | None:
        """The slot an update writes: on A/B, the one not running."""
        current = self.current_slot
        return next((slot for slot in self.slots if slot != current), None) if current else None

    def has_slot(self, partition: str) -> bool:
        value = self.value(f"has-slot:{partition}")
        return variables.parse_yes_no(f"has-slot:{partition}", value or "no")

    # -- reading back ------------------------------------------------------------

    def can_read(self, partition: str) -> bool:
        """Whether `fetch` reads this partition: tried once with a small read, and only where the
        handset offers fetch. A handset that reports no `max-fetch-size` has none (U-Boot,
        barebox and phone bootloaders; the stock client fetches from no other); fastbootd on
        the user builds phones run reads back vendor_boot only, so nothing else is asked."""
        if self.fetch_command is None and self.value("max-fetch-size") is None:
            self.fetch_command = False
        if self.fetch_command is False or (self.userspace and not partition.startswith(USERSPACE_READABLE)):
            return False
        if partition not in self._readable:
            size = min(READ_PROBE_SIZE, self.partition_size(partition) or READ_PROBE_SIZE)
            try:
                self._device.fetch(partition, _Discard(), size=size)
            except CommandFailed as exc:
                self._readable[partition] = False
                if _UNKNOWN_COMMAND.search(exc.reason):
                    self.fetch_command = False
            else:
                self._readable[partition] = True
                self.fetch_command = True
        return self._readable[partition]


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)
