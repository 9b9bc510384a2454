"""Updating a handset through recovery: the path a locked bootloader leaves open.

A locked bootloader refuses fastboot writes, so a sideload package (signed with
the handset's OEM key) goes to the handset's recovery with ADB's sideload
service; recovery checks it with its own key, installs it to the inactive
slot and reboots. The host's part, from the fastboot connection the session
opened:

1. preflight over fastboot: identity, battery, rollback index (what recovery
   checks on its own, the signature and the partitions, it leaves to recovery);
2. fastboot `reboot-recovery`, then wait for the handset's ADB in recovery, at
   the same USB serial or the fastboot TCP port + 1;
3. ADB `reboot:sideload`, then wait for the sideload state;
4. serve the package block by block as the handset asks (progress per block),
   until it answers that it installed the package (or refused it);
5. wait for the same serial back in fastboot and read its build.

There is no journal: recovery switches slots only after the whole package is
written and checked, so a cut leaves the old build, and the next attempt
starts over. A handset left in recovery by a cut attempt is sent back to its
bootloader when the next one connects (`back_from_recovery`).
"""

from ..adb.client import RECOVERY, SIDELOAD
from ..adb.errors import (AdbError, AdbProtocolError, BadBlockRequest, PackageUnreadable,
                          SideloadCancelled, SideloadError, SideloadInterrupted, SideloadRefused, SideloadTimeout)
from ..adb.sideload import sideload
from ..adb.transport import adb_address_for
from ..fastboot import FastbootDevice
from ..discovery.waiting import wait_for_adb, wait_for_fastboot
from ..errors import FlasherError
from ..history.codes import Result
from ..transport.errors import UnsupportedLink
from . import preflight
from .android_confirmation import confirm_through_adb
from .events import Progress

PROBE_TIMEOUT = 1.0
"""How long a failed fastboot connect looks for the handset's ADB in recovery."""
LEAVE_TIMEOUT = 10.0
"""How long a failed sideload tries to send the handset back to its system."""


def run(session, device: FastbootDevice) -> None:
    """The whole sideload path of one session, from its open fastboot connection."""
    report, manifest, options = session.report, session.manifest, session.options
    report.path = "sideload"
    facts = preflight.read_facts(device, [])
    report.product, report.from_build, report.from_slot = facts.product, facts.build, facts.current_slot or ""
    session._preflight(preflight.evaluate_sideload(manifest, facts, options.policy))
    adb_address = _adb_address(session.address)
    session.say("INFO", f"preflight passed: {facts.product} {facts.build or '(build not available)'}, "
                f"{facts.lock_state}; installing through recovery at {adb_address}")
    if options.dry_run:
        report.set_result(Result.DRY_RUN, message=f"would install {manifest.build} ({manifest.total_size} bytes "
                                                  f"of images) through recovery at {adb_address}")
        session.show("planned", report.message)
        return
    if not options.reboot:
        session.say("WARNING", "recovery reboots the handset once it has installed the package, "
                               "whatever the reboot option says")
    package = session.images.path
    size = package.stat().st_size
    if facts.current_slot:
        # Recovery writes the inactive slot, even when it then fails: what an interrupted
        # A/B run recorded about that slot stops holding.
        session.station.journal.forget(session.serialno)
    session.enter("recovery")
    session.show("rebooting", "to recovery")
    session.cancel.check()
    device.reboot("recovery")
    device.close()
    with wait_for_adb(adb_address, (RECOVERY, SIDELOAD), timeout=options.return_timeout,
                      on_progress=session.waiting_for("recovery")) as recovery:
        if recovery.state == RECOVERY:
            recovery.reboot_to_sideload(timeout=options.timeouts.response)
    with wait_for_adb(adb_address, SIDELOAD, timeout=options.return_timeout,
                      on_progress=session.waiting_for("sideload mode")) as adb:
        session.enter("sideload")
        session.show("sideloading", adb_address)
        try:
            result = sideload(adb, package, _progress(session, size), lambda: session.cancel.cancelled,
                              response_timeout=options.timeouts.response,
                              install_timeout=options.timeouts.long_command)
        except SideloadInterrupted as exc:
            if not exc.served_all:
                _leave_recovery(session, adb_address)
                raise
            # It had every block: it may have installed the package. Its build says.
            session.say("WARNING", f"{exc}; the handset had the whole package, so its build decides")
        except SideloadError:
            _leave_recovery(session, adb_address)
            raise
        else:
            report.bytes_sent = result.bytes_sent
    _confirm(session)


def back_from_recovery(address: str, timeout: float, say) -> FastbootDevice | None:
    """A handset that does not answer fastboot may sit in recovery (a cut attempt left it there,
    or its user put it there): send it to its bootloader and reconnect. None when nothing answers ADB there either."""
    try:
        recovery = wait_for_adb(adb_address_for(address), (RECOVERY, SIDELOAD), timeout=PROBE_TIMEOUT)
    except FlasherError:
        return None
    say("INFO", f"the handset is in {recovery.state} mode; rebooting it to its bootloader to start "
                "the update from there")
    recovery.reboot("bootloader")
    return wait_for_fastboot(address, timeout=timeout)


def _adb_address(address: str) -> str:
    try:
        return adb_address_for(address)
    except UnsupportedLink:
        raise preflight.NoSideloadLink(f"{address}: recovery cannot be reached over this link to sideload; "
                                       "ADB runs over USB and TCP") from None


def _progress(session, size: int):
    """Block counts to bytes for the faces; once the handset has every block it is installing."""
    def progress(served: int, total: int) -> None:
        session.emit(Progress(session.serialno, size * served // total, size))
        if served == total:
            session.enter("install")
            session.show("installing")
    return progress


def _leave_recovery(session, adb_address: str) -> None:
    """After a failed sideload the handset waits in sideload mode: send it back to its system,
    which it still has. If it cannot be reached, the next attempt does it."""
    try:
        with wait_for_adb(adb_address, (RECOVERY, SIDELOAD), timeout=LEAVE_TIMEOUT) as adb:
            adb.reboot("")
        session.say("INFO", "the handset reboots into its current build")
    except FlasherError as exc:
        session.say("WARNING", f"could not send the handset back to its system ({exc}); "
                               "the next attempt does it")


def _confirm(session) -> None:
    report, manifest = session.report, session.manifest
    session.enter("confirm")
    session.show("confirming")
    if not session.reports_build:  # a phone: recovery rebooted it into Android, where it stays
        confirm_through_adb(session, "")
        if report.result == Result.SUCCESS.name:
            session.station.journal.forget(session.serialno)
        return
    with session.await_return() as device:
        build = device.capabilities.build
        slot = device.current_slot() or ""
    report.to_slot = slot
    if build is None:
        # Nothing proves the new build boots, so what the journal keeps for in-place handsets
        # (their backups) stays.
        report.set_result(Result.NOT_CONFIRMED, phase="confirm",
                          message=f"installed through recovery and back in the bootloader, which cannot report "
                                  f"the build it runs: {manifest.build} is not confirmed")
    elif build == manifest.build:
        # New contents everywhere; a handset without slots kept its in-place backups until now,
        # since recovery restores what it held when a sideload fails.
        session.station.journal.forget(session.serialno)
        report.set_result(Result.SUCCESS, message=f"running {manifest.build}, installed through recovery "
                                                  f"(sideload over {session.address.partition(':')[0]})")
    elif build == report.from_build:
        report.set_result(Result.ROLLED_BACK, phase="confirm",
                          message=f"the handset came back on {build}: {manifest.build} did not boot")
    else:
        report.set_result(Result.WRONG_BUILD, phase="confirm", message=f"came back running {build}")


def result_for(error: FlasherError) -> Result | None:
    """The report's code for an error of this path's ADB part; None for any other error."""
    for kind, result in _RESULTS:
        if isinstance(error, kind):
            return result
    return None


# In order: the first class an error is an instance of decides.
_RESULTS = (
    (SideloadRefused, Result.SIDELOAD_REFUSED),
    (SideloadCancelled, Result.CANCELLED),
    (PackageUnreadable, Result.PACKAGE_CORRUPT),
    (SideloadTimeout, Result.LINK_TIMEOUT),
    (SideloadInterrupted, Result.LINK_LOST),
    ((AdbProtocolError, BadBlockRequest), Result.PROTOCOL_VIOLATION),
    (AdbError, Result.DEVICE_REFUSED),
)
