"""Confirming the switched slot once the handset has rebooted into it.

Only a bootloader that says which build runs can confirm one, and only such
(bench) handsets come back to it after booting: the session waits for the same
serial number in fastboot and reads `current-slot`, `slot-successful` and
`build`. A phone boots Android and stays there; it is confirmed through its ADB
(android_confirmation.py).
"""

from ..discovery.waiting import poll_until
from ..history.codes import Result
from .android_confirmation import confirm_through_adb

RETURN_POLL = 2.0
"""How often a handset back before its boot finished is looked at again."""


def confirm_slot(session, target_slot: str) -> None:
    """Set the session's result from what the handset says once back (see update-session.md)."""
    report = session.report
    session.enter("confirm")
    session.show("confirming")
    if not session.reports_build:
        confirm_through_adb(session, target_slot)
        return
    seen: list[tuple[str | None, str, bool]] = []

    def look(_left: float) -> tuple[str | None, str, bool] | None:
        with session.await_return() as device:
            seen.append((device.current_slot(), device.capabilities.build or "",
                         device.getvar_optional(f"slot-successful:{target_slot}") == "yes"))
        booted, _build, successful = seen[-1]
        # Seen before it went down, or back before its boot finished: look again.
        return seen[-1] if booted != target_slot or successful else None
    booted, build, successful = poll_until(look, timeout=session.options.return_timeout, poll=RETURN_POLL) \
        or seen[-1]
    build_wanted = session.manifest.build
    if booted == target_slot and successful and not build_wanted:
        report.set_result(Result.BOOTED_NOT_CONFIRMED, phase="confirm",
                          message=f"slot {booted} booted, running {build or 'an unknown build'}; the images state "
                                  "no build to compare it with")
    elif booted == target_slot and successful and build == build_wanted:
        report.set_result(Result.SUCCESS, message=f"running {build_wanted} on slot {booted}")
    elif booted == report.from_slot:
        report.set_result(Result.ROLLED_BACK, phase="confirm",
                          message=f"slot {target_slot} did not boot; the handset fell back to slot {booted}")
    elif booted == target_slot and not successful:
        # Back before its boot was marked successful (a power cut, a key held): the journal
        # stays, so running the update again boots and confirms it without writing anything.
        report.set_result(Result.WRONG_BUILD, phase="confirm",
                          message=f"came back on slot {booted} before its boot was marked successful; "
                                  "run the update again to boot and confirm it")
        return
    else:
        report.set_result(Result.WRONG_BUILD, phase="confirm",
                          message=f"came back on slot {booted} running {build or 'an unknown build'}")
    session.station.journal.clear(session.serialno, session.package_sha256)
