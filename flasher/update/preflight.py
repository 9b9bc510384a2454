"""Every check before the first write: is this package for this handset, now?

Each refusal is a named error carrying the report's result code, raised
before anything is written.
"""

from dataclasses import dataclass

from ..device import FastbootDevice
from ..errors import FlasherError
from ..history.codes import Result
from ..protocol import variables


class PreflightRefused(FlasherError):
    result = Result.INCOMPATIBLE_PRODUCT


class WrongProduct(PreflightRefused):
    result = Result.INCOMPATIBLE_PRODUCT
    hint = "Use the package built for this handset's product and hardware revision."


class WrongLayout(PreflightRefused):
    result = Result.INCOMPATIBLE_LAYOUT
    hint = "This package does not fit this handset's partitions; use the package made for it."


class RollbackRefused(PreflightRefused):
    result = Result.ROLLBACK_REFUSED
    hint = "The handset runs a newer security level; use a package at least that new."


class BatteryLow(PreflightRefused):
    result = Result.BATTERY_LOW
    hint = "Charge the handset (keep it on the charger) and start the update again."


class NeedsUnlock(PreflightRefused):
    result = Result.NEEDS_UNLOCK
    hint = ("Use the manufacturer's signed update for this handset, or unlock the bootloader "
            "(this erases the user's data).")


class NoSideloadLink(PreflightRefused):
    result = Result.NO_SIDELOAD_LINK
    hint = "Connect the handset by USB and run the update again at its usb:SERIAL address."


@dataclass(frozen=True)
class HandsetFacts:
    """What preflight read from the handset."""

    serialno: str
    product: str
    hw_revision: str
    current_slot: str | None
    slot_count: int
    unlocked: bool
    battery_mv: int | None
    battery_ok: bool | None
    rollback_index: int | None
    build: str
    partition_sizes: dict[str, int]


def read_facts(device: FastbootDevice, partitions: list[str]) -> HandsetFacts:
    """`partitions` are on-device names (`system_b`) whose sizes preflight needs."""
    def optional_int(name: str) -> int | None:
        value = device.getvar_optional(name)
        return variables.parse_size(name, value) if value else None

    battery_ok = device.getvar_optional("battery-soc-ok")
    sizes = {}
    for name in partitions:
        size = device.getvar_optional(f"partition-size:{name}")
        if size is not None:
            sizes[name] = variables.parse_size(f"partition-size:{name}", size)
    return HandsetFacts(
        serialno=device.getvar("serialno"),
        product=device.getvar_optional("product") or "",
        hw_revision=device.getvar_optional("hw-revision") or "",
        current_slot=device.current_slot(),
        slot_count=device.slot_count(),
        unlocked=variables.parse_yes_no("unlocked", device.getvar_optional("unlocked") or "yes"),
        battery_mv=optional_int("battery-voltage"),
        battery_ok=None if battery_ok is None else variables.parse_yes_no("battery-soc-ok", battery_ok),
        rollback_index=optional_int("rollback-index"),
        build=device.getvar_optional("build") or "",
        partition_sizes=sizes,
    )


def check(manifest, facts: HandsetFacts, targets: dict[str, str]) -> None:
    """Raise the first reason this package must not be flashed on this handset over fastboot."""
    _check_identity(manifest, facts)
    if not facts.unlocked:
        raise NeedsUnlock("This handset's bootloader is locked, and this package can only be installed on "
                          "an unlocked one",
                          hint=f"Use the manufacturer's signed update for {facts.product or 'this handset'}, "
                               "or unlock the bootloader (this erases the user's data).")
    _check_layout(manifest, facts, targets)
    _check_rollback_and_battery(manifest, facts)


def check_sideload(manifest, facts: HandsetFacts) -> None:
    """Raise the first reason this package must not be sideloaded: the handset's recovery checks
    the signature and the partitions itself; the host checks what it can see from fastboot."""
    _check_identity(manifest, facts)
    _check_rollback_and_battery(manifest, facts)


def _check_identity(manifest, facts: HandsetFacts) -> None:
    if manifest.product != facts.product:
        raise WrongProduct(f"the package is for {manifest.product}, the handset is {facts.product or 'unknown'}")
    if manifest.hw_revisions and facts.hw_revision not in manifest.hw_revisions:
        raise WrongProduct(f"hardware revision {facts.hw_revision or 'unknown'} is not among "
                           f"{', '.join(manifest.hw_revisions)}")


def _check_layout(manifest, facts: HandsetFacts, targets: dict[str, str]) -> None:
    ab = facts.slot_count == 2 and facts.current_slot is not None
    if not ab and facts.slot_count != 0:
        raise WrongLayout(f"{facts.serialno} reports {facts.slot_count} slots and current slot "
                          f"{facts.current_slot or 'none'}; TSUF updates A/B handsets and handsets without slots")
    for entry in manifest.images:
        if ab and not entry.slotted:
            raise WrongLayout(f"{entry.partition} is not slotted: writing it would change the running system")
        target = targets[entry.partition]
        size = facts.partition_sizes.get(target)
        if size is None:
            raise WrongLayout(f"the handset has no partition {target}")
        if entry.size > size:
            raise WrongLayout(f"{entry.partition} is {entry.size} bytes, {target} holds {size}")


def _check_rollback_and_battery(manifest, facts: HandsetFacts) -> None:
    if facts.rollback_index is not None and manifest.rollback_index < facts.rollback_index:
        raise RollbackRefused(f"package rollback index {manifest.rollback_index} is below the handset's "
                              f"{facts.rollback_index}")
    if facts.battery_ok is False:
        raise BatteryLow(f"{facts.serialno} reports its battery too low to flash")
    if facts.battery_mv is not None and facts.battery_mv < manifest.min_battery_mv:
        raise BatteryLow(f"battery at {facts.battery_mv} mV, the package needs {manifest.min_battery_mv} mV")
