"""Every check before the first write: is this package for this handset, now?

Each refusal is a named error carrying the report's result code, raised
before anything is written.
"""

from dataclasses import dataclass, field

from ..fastboot import FastbootDevice
from ..errors import FlasherError
from ..history.codes import Result
from ..package.android_info import judge
from ..protocol import variables
from ..transfer_rate import human_bytes


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


class ProductUnknown(PreflightRefused):
    result = Result.INCOMPATIBLE_PRODUCT
    hint = ("The handset does not say which product it is, so TSUF cannot tell whether this package "
            "is meant for it. Use the manufacturer's tool for this board.")


class BatteryUnknown(PreflightRefused):
    result = Result.BATTERY_LOW
    hint = ("Check the battery on the handset itself; if it is charged, allow updates of handsets that "
            "do not report their battery (Station settings, or `tsuf update --battery-unknown-ok`).")


class RequirementNotMet(PreflightRefused):
    result = Result.INCOMPATIBLE_PRODUCT
    hint = ("These factory images are not for this handset as it is (android-info.txt); use the images "
            "made for it, or first bring its bootloader and radio to the versions they require.")


class LastGoodSlot(PreflightRefused):
    result = Result.LAST_GOOD_SLOT
    hint = ("Reboot the handset so it boots its active slot (or falls back to the last good one), "
            "then run the update again.")


PASSED, FAILED, NOT_AVAILABLE = "passed", "failed", "not available"


@dataclass(frozen=True)
class Check:
    """One preflight check as the report shows it."""

    name: str
    outcome: str
    detail: str
    refusal: PreflightRefused | None = None

    def to_dict(self) -> dict:
        return {"check": self.name, "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True)
class Policy:
    """What to do where the handset cannot say (docs/update-session.md, "When the handset does not say")."""

    battery_unknown_ok: bool = True
    """An unreported battery level passes as "not available"; station mode asks for an explicit choice."""


@dataclass(frozen=True)
class HandsetFacts:
    """What preflight read from the handset; None (or "") where it does not say."""

    serialno: str
    product: str
    hw_revision: str
    current_slot: str | None
    slots: tuple[str, ...]
    unlocked: bool | None
    battery_mv: int | None
    battery_ok: bool | None
    rollback_index: int | None
    build: str
    partition_sizes: dict[str, int]
    reports_partition_sizes: bool = True
    slot_successful: dict[str, bool] = field(default_factory=dict)
    variables: dict[str, str | None] = field(default_factory=dict)
    """The variables factory images' requirements name; None where the handset does not say."""

    @property
    def lock_state(self) -> str:
        return {True: "unlocked", False: "locked", None: "lock state not available"}[self.unlocked]


def read_facts(device: FastbootDevice, partitions: list[str], required: tuple[str, ...] = ()) -> HandsetFacts:
    """`partitions` are on-device names (`system_b`) whose sizes preflight needs; `required`
    the variables factory images require."""
    caps = device.capabilities
    sizes = {name: size for name in partitions if (size := caps.partition_size(name)) is not None}
    successful = {}
    for slot in caps.slots:
        value = caps.value(f"slot-successful:{slot}")
        if value is not None:
            successful[slot] = variables.parse_yes_no(f"slot-successful:{slot}", value)
    return HandsetFacts(
        serialno=caps.serialno or "",
        product=caps.product or "",
        hw_revision=caps.hw_revision or "",
        current_slot=caps.current_slot,
        slots=caps.slots,
        unlocked=caps.unlocked,
        battery_mv=caps.battery_mv,
        battery_ok=caps.battery_ok,
        rollback_index=caps.rollback_index,
        build=caps.build or "",
        partition_sizes=sizes,
        reports_partition_sizes=caps.reports_partition_sizes,
        slot_successful=successful,
        variables={name: caps.value(name) for name in required},
    )


def evaluate(manifest, facts: HandsetFacts, targets: dict[str, str], policy: Policy = Policy()) -> list[Check]:
    """Every check of a fastboot install, in order; the first failed one is the refusal."""
    return [*_identity(manifest, facts), _lock(facts), *_layout(manifest, facts, targets),
            *_rollback_and_battery(manifest, facts, policy)]


def evaluate_sideload(manifest, facts: HandsetFacts, policy: Policy = Policy()) -> list[Check]:
    """The host's checks before a sideload: the handset's recovery checks the signature and the
    partitions itself."""
    return [*_identity(manifest, facts), *_rollback_and_battery(manifest, facts, policy)]


def enforce(checks: list[Check]) -> None:
    for check in checks:
        if check.refusal is not None:
            raise check.refusal


def _passed(name: str, detail: str) -> Check:
    return Check(name, PASSED, detail)


def _failed(name: str, refusal: PreflightRefused) -> Check:
    return Check(name, FAILED, str(refusal), refusal)


def _identity(manifest, facts: HandsetFacts) -> list[Check]:
    if not manifest.signed:
        return _factory_identity(manifest, facts)
    signer = [_passed("signature", f"vendor OTA, {manifest.signer}")] if manifest.signer else []
    return signer + _product_and_revision(manifest, facts)


def _product_and_revision(manifest, facts: HandsetFacts) -> list[Check]:
    if not facts.product:
        product = _failed("product", ProductUnknown(f"the handset does not report its product; the package is "
                                                    f"for {manifest.product}"))
    elif manifest.product != facts.product:
        product = _failed("product", WrongProduct(f"the package is for {manifest.product}, the handset is "
                                                  f"{facts.product}"))
    else:
        product = _passed("product", facts.product)
    if not manifest.hw_revisions:
        revision = _passed("hardware revision", "the package fits every revision")
    elif not facts.hw_revision:
        # Most bootloaders never say it; the product they do say is what identifies the handset.
        revision = Check("hardware revision", NOT_AVAILABLE,
                         f"the handset does not report its revision (the package is for "
                         f"{', '.join(manifest.hw_revisions)})")
    elif facts.hw_revision not in manifest.hw_revisions:
        revision = _failed("hardware revision", WrongProduct(
            f"hardware revision {facts.hw_revision} is not among {', '.join(manifest.hw_revisions)}"))
    else:
        revision = _passed("hardware revision", facts.hw_revision)
    return [product, revision]


def _factory_identity(manifest, facts: HandsetFacts) -> list[Check]:
    """Factory images: nobody signed them, and android-info.txt says which handsets they are
    for. Every requirement must be met by what the handset reports, as the stock client asks;
    one the handset does not answer is refused, since the images say they need it."""
    checks = [Check("signature", NOT_AVAILABLE, "factory images: nobody signed them; written on the user's word")]
    if not any(requirement.variable == "product" for requirement in manifest.requirements):
        checks.append(_failed("product", ProductUnknown(
            "the factory images do not say which product they are for (android-info.txt has no `require board=`)")))
    for verdict in judge(manifest.requirements, facts.product or None, facts.variables.get):
        requirement, value = verdict.requirement, verdict.value
        name = f"requires {requirement.describe()}"
        if verdict.met is None:
            checks.append(_passed(name, f"only for {requirement.for_product}"))
        elif verdict.met:
            checks.append(_passed(name, value))
        elif value is None:
            checks.append(_failed(name, RequirementNotMet(
                f"the factory images require that {requirement.describe()}, and the handset does not report "
                f"{requirement.variable}")))
        else:
            checks.append(_failed(name, RequirementNotMet(
                f"the factory images require that {requirement.describe()}; the handset's is {value}")))
    checks.append(Check("hardware revision", NOT_AVAILABLE, "factory images name no hardware revision"))
    return checks


def _lock(facts: HandsetFacts) -> Check:
    if facts.unlocked is None:
        # The handset decides: a locked one refuses the first flash, before anything is written.
        return Check("bootloader unlocked", NOT_AVAILABLE, "the handset does not report its lock state")
    if not facts.unlocked:
        return _failed("bootloader unlocked", NeedsUnlock(
            "This handset's bootloader is locked, and this package can only be installed on an unlocked one",
            hint=f"Use the manufacturer's signed update for {facts.product or 'this handset'}, "
                 "or unlock the bootloader (this erases the user's data)."))
    return _passed("bootloader unlocked", "unlocked")


def _layout(manifest, facts: HandsetFacts, targets: dict[str, str]) -> list[Check]:
    checks = []
    if facts.slots and facts.current_slot is None:
        return [_failed("slots", WrongLayout(f"{facts.serialno or 'the handset'} has slots "
                                             f"{', '.join(facts.slots)} but does not say which one is active"))]
    if facts.slots:
        checks.append(_last_good(facts))
        unslotted = [entry.partition for entry in manifest.partition_images if not entry.slotted]
        checks.append(_failed("slotted images", WrongLayout(
            f"{unslotted[0]} is not slotted: writing it would change the running system"))
            if unslotted else _passed("slotted images", f"every image goes to slot {targets_slot(targets)}"))
    else:
        checks.append(_passed("slots", "none: written in place, after a backup"))
    for entry in manifest.partition_images:
        if entry.partition not in targets:
            continue  # a logical partition: its room in super is checked from super_empty.img
        target = targets[entry.partition]
        size = facts.partition_sizes.get(target)
        name = f"{target} size"
        if size is None:
            checks.append(_failed(name, WrongLayout(f"the handset has no partition {target}"))
                          if facts.reports_partition_sizes else
                          Check(name, NOT_AVAILABLE, "the handset does not report partition sizes"))
        elif entry.size > size:
            checks.append(_failed(name, WrongLayout(f"{entry.partition} is {human_bytes(entry.size)}, {target} holds {human_bytes(size)}")))
        else:
            checks.append(_passed(name, f"{human_bytes(entry.size)} of {human_bytes(size)}"))
    return checks


def targets_slot(targets: dict[str, str]) -> str:
    return next(iter(targets.values()), "").rpartition("_")[2]


def _last_good(facts: HandsetFacts) -> Check:
    """Never write the slot holding the last build known to boot: after a switch whose reboot
    was cut, the active slot has not booted yet and the other one is the way back."""
    current = facts.current_slot
    others = [slot for slot in facts.slots if slot != current]
    if facts.slot_successful.get(current) is False and any(facts.slot_successful.get(slot) for slot in others):
        return _failed("last good slot kept", LastGoodSlot(
            f"slot {current} is active but has not booted yet; slot {others[0]} holds the last build known "
            "to boot, and an update would overwrite it"))
    if current not in facts.slot_successful:
        return Check("last good slot kept", NOT_AVAILABLE, "the handset does not report which slots booted")
    return _passed("last good slot kept", f"slot {current} runs")


def _rollback_and_battery(manifest, facts: HandsetFacts, policy: Policy) -> list[Check]:
    if manifest.rollback_index is None:
        rollback = Check("anti-rollback", NOT_AVAILABLE,
                         "the images state no rollback index; the handset's verified boot enforces it")
    elif facts.rollback_index is None:
        rollback = Check("anti-rollback", NOT_AVAILABLE,
                         "the handset does not report its rollback index; its verified boot enforces it")
    elif manifest.rollback_index < facts.rollback_index:
        rollback = _failed("anti-rollback", RollbackRefused(
            f"package rollback index {manifest.rollback_index} is below the handset's {facts.rollback_index}"))
    else:
        rollback = _passed("anti-rollback", f"{manifest.rollback_index} >= {facts.rollback_index}")
    name = facts.serialno or "the handset"
    if facts.battery_ok is False:
        battery = _failed("battery", BatteryLow(f"{name} reports its battery too low to flash"))
    elif facts.battery_mv is not None and facts.battery_mv < manifest.min_battery_mv:
        battery = _failed("battery", BatteryLow(
            f"battery at {facts.battery_mv} mV, the package needs {manifest.min_battery_mv} mV"))
    elif facts.battery_mv is not None:
        battery = _passed("battery", f"{facts.battery_mv} mV")
    elif facts.battery_ok:
        battery = _passed("battery", "the handset says it is charged enough")
    elif policy.battery_unknown_ok:
        battery = Check("battery", NOT_AVAILABLE, "the handset does not report its battery")
    else:
        battery = _failed("battery", BatteryUnknown(f"{name} does not report its battery level"))
    return [rollback, battery]
