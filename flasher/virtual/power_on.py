"""One power-on of a virtual handset: the bootloader picks a slot, verified boot checks it,
and the boot control marks it successful (at boot on the reference family, once Android's
boot completes on a phone)."""

from __future__ import annotations

from . import slots


def mark_booted_successful(handset) -> None:
    """Boot completed: the booted slot is marked successful and its rollback index stored."""
    if handset._booted is None:
        return
    slot, rollback_index = handset._booted
    if slot and not handset.meta.slot(slot).successful:
        handset._save(slots.mark_successful(handset.meta, slot))
        handset._note(f"slot {slot}: boot completed; marked successful")
    handset.verified_boot.commit_rollback_index(rollback_index)
    handset.boot_completed = True


def boot_slots(handset) -> str | None:
    """One power-on: the bootloader picks, verifies and boots a slot ("" without slots);
    returns it, or None when nothing boots. The reference family's slot is marked
    successful as it boots; a phone's once its boot completes (Handset._complete_boot)."""
    marks_at_boot = handset.family.returns_from_os
    checks = {}

    def boots(slot: str) -> bool:
        if not handset.faults.boots(slot):
            return False
        checks[slot] = check = handset.verified_boot.check_slot(slot)
        if not check.ok:
            handset._note(f"verified boot: {check.reason}")
        return check.ok
    if handset.profile.slot_count == 2:
        outcome = slots.attempt_boot(handset.meta, boots, marks_at_boot=marks_at_boot)
        handset._save(outcome.meta)
        for event in outcome.events:
            handset._note(event)
        booted = outcome.booted
    else:
        booted = "" if boots("") else None
        handset._note("system booted" if booted is not None else "system does not boot: staying in fastboot")
    if booted is not None and booted in checks:
        handset.slot_builds[booted] = checks[booted].build
        if marks_at_boot:
            handset.verified_boot.commit_rollback_index(checks[booted].rollback_index)  # marked successful
        else:
            handset._booted = (booted, checks[booted].rollback_index)
    return booted
