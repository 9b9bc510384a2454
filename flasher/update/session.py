"""The update of one handset, from preflight to the confirmed new slot.

The package says how it installs. A fastboot package (an unlocked handset)
is written here: only to the inactive slot, every image verified by reading
it back, one set_active, a reboot, and the outcome decided from what the
handset says when it returns. A sideload package goes through recovery
(sideload_path.py), the one way a locked handset accepts an update.
Whatever happens, one report is recorded. An interrupted fastboot session
run again with the same package resumes from the journal: images already
verified on the same target slot are not rewritten.

This module is the sequence; each step is a module of its own: preflight.py,
plan.py, write.py (write and verify), switch.py, confirm.py.
"""

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..fastboot import FastbootDevice, Timeouts, device_logger
from ..discovery.waiting import wait_for_fastboot
from ..delta.errors import DeltaSourceMismatch
from ..atomic import private_folder
from ..device_text import file_key
from ..errors import FlasherError
from ..history.attempt_log import AttemptLog
from ..history.codes import Result
from ..history.report import Report, new_report_id, utc_now
from ..history.store import HistoryStore
from ..protocol.errors import CommandFailed
from ..transport.errors import TransportError
from . import dynamic, in_place, preflight, sideload_path
from .confirm import confirm_slot
from .events import Event, Finished, LogLine, StateChanged
from .journal import Journal, JournalEntry
from .outcome import Cancelled, VerifyFailed, result_for
from .plan import Plan, plan_update
from .switch import switch, switched_before
from .write import write_and_verify

log = logging.getLogger("tsuf.update")


class CancelToken:
    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("the update was cancelled")


@dataclass
class Station:
    """Where a session records what it did."""

    station_id: str
    history: HistoryStore
    logs_dir: Path
    journal: Journal
    on_recorded: Callable[[Report], None] = lambda report: None
    adb_key_folder: Path | None = None
    """Where TSUF keeps its own ADB key when stock adb has none (the data folder; None: beside the logs)."""

    @property
    def key_folder(self) -> Path:
        return self.adb_key_folder or self.logs_dir.parent


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    reboot: bool = True
    return_timeout: float = 120.0
    timeouts: Timeouts = Timeouts()
    policy: preflight.Policy = preflight.Policy()
    """What to do where the handset cannot say (its battery)."""
    force_without_backup: bool = False
    """Handsets without slots: update even when the partitions cannot be backed up first."""
    scanner: object | None = None
    """A discovery Scanner: lets the session find the handset on another link after its reboot."""
    record: bool = True
    """False for checks that are not attempts (a face asking whether a package fits, with
    dry_run): no report in the history, no log file kept."""


class UpdateSession:
    """`images` hands out the verified image of each manifest entry (flasher/update/images.py)."""

    def __init__(self, address: str, manifest, package_sha256: str, images,
                 station: Station, *, options: Options = Options(),
                 emit: Callable[[Event], None] = lambda event: None, cancel: CancelToken | None = None):
        self.address = address
        self.manifest = manifest
        self.package_sha256 = package_sha256
        self.images = images
        self.station = station
        self.options = options
        self.emit = emit
        self.cancel = cancel or CancelToken()
        self.serialno = address  # until the handset tells us
        self.report = Report(new_report_id(), station.station_id, device_serial="", address=address,
                             to_build=manifest.build,
                             package_id=manifest.package_id, package_sha256=package_sha256,
                             package_type=manifest.type)
        self._phase = "connect"
        self._state = "connecting"  # what the faces show, which progress while waiting repeats
        self._phase_started = 0.0
        self._log: AttemptLog | None = None
        self.delta_sources: list[Path] = []  # read-back delta sources, removed when the session ends
        self.reports_build = False  # the bootloader says which build runs (bench handsets)

    # -- the whole run -------------------------------------------------------

    def run(self) -> Report:
        report = self.report
        report.started_at = utc_now()
        self._log = AttemptLog(self.station.logs_dir / "pending" / f"{report.report_id}.log")
        handler = self._log.handler()
        conversation = device_logger(self.address)
        conversation.addHandler(handler)
        conversation.setLevel(logging.DEBUG)  # the attempt log keeps everything
        self.enter("connect")
        try:
            self._run()
        except Cancelled as exc:
            self._fail(Result.CANCELLED, exc)
        except FlasherError as exc:
            self._fail(result_for(exc, self._phase), exc)
        except Exception as exc:  # a bug must still leave a report
            log.exception("update session crashed")
            self._fail(Result.INTERNAL_ERROR, exc)
        finally:
            conversation.removeHandler(handler)
            for folder in self.delta_sources:
                shutil.rmtree(folder, ignore_errors=True)
            self._finish()
        return report

    def _run(self) -> None:
        """The steps, in order: preflight, plan, write and verify, switch, reboot, confirm."""
        manifest, options = self.manifest, self.options
        with contextlib.ExitStack() as connections:
            device = connections.enter_context(self._open())
            self.enter("preflight")
            self._identify(device)
            if manifest.install == "sideload":
                sideload_path.run(self, device)
                return
            plan = plan_update(manifest, self.images, device.capabilities)
            self.report.path = plan.path
            facts = preflight.read_facts(device, list(plan.physical.values()),
                                         tuple(requirement.variable for requirement in manifest.requirements))
            self.report.product, self.report.from_build = facts.product, facts.build
            self.report.from_slot, self.report.to_slot = plan.current_slot, plan.target_slot
            switched = switched_before(self.station.journal, self.serialno, self.package_sha256, manifest,
                                       plan.current_slot)
            if switched is not None:
                self._resume_after_switch(device, switched)
                return
            self._check(plan, facts, device.capabilities)
            if options.dry_run:
                self.report.set_result(Result.DRY_RUN, message=plan.describe(manifest))
                self.show("planned", self.report.message)
                return
            entry = self._journal_entry(plan.current_slot, plan.target_slot)
            if plan.in_place:
                self._update_in_place(device, plan.targets, entry, facts.build)
                return
            device = self._write_slot(device, plan, entry, connections)
            switch(self, device, entry)
            if not options.reboot:
                self.report.set_result(Result.NEEDS_REBOOT, message=f"slot {plan.target_slot} is active; reboot to use it")
                self.station.journal.clear(self.serialno, self.package_sha256)
                return
            self._reboot(device)
        confirm_slot(self, plan.target_slot)

    def _identify(self, device: FastbootDevice) -> None:
        """Who the handset is, and this attempt on record from here on, even if the station dies."""
        report = self.report
        caps = device.capabilities
        self.reports_build = caps.build is not None
        if caps.serialno:
            self.serialno = report.device_serial = caps.serialno
        else:
            self.say("WARNING", f"the handset does not report a serial number; it is known by its address "
                                f"{self.address}")
        if self.options.record:
            for stale in self.station.history.close_interrupted(self.serialno, station_id=report.station_id):
                self.say("WARNING", f"an earlier attempt ({stale.report_id}) was cut off by the station stopping")
            report.attempt = self.station.history.attempts(self.serialno, self.package_sha256) + 1
            report.set_result(Result.IN_PROGRESS, phase="preflight")
            self.station.history.record(report)
        self.show("checking")

    def _check(self, plan: Plan, facts: preflight.HandsetFacts, caps) -> None:
        """Every check before the first write; refused by name, nothing written."""
        manifest = self.manifest
        self._preflight(preflight.evaluate(manifest, facts, plan.physical, self.options.policy) + plan.fit_checks(caps))
        if manifest.source_build and facts.build and facts.build != manifest.source_build:
            raise DeltaSourceMismatch(f"this delta applies to {manifest.source_build}; the handset runs "
                                      f"{facts.build}")
        self.say("INFO", f"preflight passed: {facts.product} {facts.build or '(build not available)'}, writing "
                  + ("in place (no slots)" if plan.in_place else
                     f"slot {plan.target_slot} (slot {plan.current_slot} runs)"))

    def _write_slot(self, device: FastbootDevice, plan: Plan, entry: JournalEntry,
                    connections: contextlib.ExitStack) -> FastbootDevice:
        """Every image to the inactive slot, each verified; the connection the switch then uses
        (fastbootd's, where logical images were written there)."""
        if plan.logical:
            dynamic.cancel_snapshot(device, self.say)
        write_and_verify(self, device, plan.physical, entry)  # boot-critical images, from the bootloader
        if plan.logical:
            device = connections.enter_context(dynamic.write_slot(self, device, plan.layout, plan.logical,
                                                                  plan.targets, entry))
        return device

    def _preflight(self, checks: list[preflight.Check]) -> None:
        self.report.checks = [check.to_dict() for check in checks]
        for check in checks:  # every check in the log the faces show, each as it came out
            self.say("INFO" if check.outcome == preflight.PASSED else "WARNING",
                     f"check {check.name}: {check.outcome} ({check.detail})")
        preflight.enforce(checks)

    def _reboot(self, device: FastbootDevice) -> None:
        self.enter("reboot")
        self.show("rebooting")
        device.reboot()

    def _resume_after_switch(self, device: FastbootDevice, entry: JournalEntry) -> None:
        """Go on from the boot: slot {entry.active_slot}, the last good build, is never written."""
        report = self.report
        report.resumed = True
        report.from_slot, report.to_slot = entry.active_slot, entry.target_slot
        self.say("INFO", f"resuming: slot {entry.target_slot} was written, verified and made active by an earlier "
                         f"attempt; slot {entry.active_slot} keeps the previous build")
        if self.options.dry_run:
            report.set_result(Result.DRY_RUN, message=f"would reboot into slot {entry.target_slot} and confirm it")
            self.show("planned", report.message)
            return
        if not self.options.reboot:
            report.set_result(Result.NEEDS_REBOOT, message=f"slot {entry.target_slot} is active; reboot to use it")
            return
        self._reboot(device)
        device.close()
        confirm_slot(self, entry.target_slot)

    def _open(self) -> FastbootDevice:
        """The handset over fastboot; one that an earlier attempt left in recovery is sent back
        first (not by a dry run, which changes nothing)."""
        def on_message(text: str) -> None:
            self.say("INFO", f"(device) {text}")
        try:
            return FastbootDevice.open(self.address, timeouts=self.options.timeouts, on_message=on_message)
        except TransportError:
            if self.options.dry_run:
                raise
            device = sideload_path.back_from_recovery(self.address, self.options.return_timeout, self.say)
            if device is None:
                raise
        device.timeouts, device.on_message = self.options.timeouts, on_message
        return device

    def _update_in_place(self, device: FastbootDevice, targets: dict[str, str], entry: JournalEntry,
                         old_build: str) -> None:
        journal = self.station.journal
        self.enter("backup")
        self.show("backing up")
        in_place.back_up(device, {targets[image.partition]: image.size for image in self.manifest.images},
                         journal, entry, lambda text: self.say("INFO", text), force=self.options.force_without_backup)
        try:
            write_and_verify(self, device, targets, entry)
        except (CommandFailed, VerifyFailed):
            self._restore(device, entry)
            raise
        if not self.options.reboot:
            self.report.set_result(Result.NEEDS_REBOOT, message="written in place; reboot to use it")
            return
        self._reboot(device)
        device.close()
        self.enter("confirm")
        self.show("confirming")
        if not self.reports_build or not self.manifest.build:
            # Nothing proves the new build boots: the backups stay with the journal.
            self.report.set_result(Result.NOT_CONFIRMED, phase="confirm",
                                   message="written in place and rebooted; " + (
                                       f"the handset cannot report the build it runs, so {self.manifest.build} is "
                                       "not confirmed" if self.manifest.build else
                                       "the images state no build to compare the handset's with"))
            return
        with self.await_return() as back:
            build = back.capabilities.build or ""
            if build == self.manifest.build:
                self.report.set_result(Result.SUCCESS, message=f"running {self.manifest.build}")
                journal.clear(self.serialno, self.package_sha256)
                return
            self.say("WARNING", f"the new build did not boot (handset reports {build or 'no build'})")
            self._restore(back, entry)
            back.reboot()
        with self.await_return() as again:
            build = again.capabilities.build or ""
        journal.clear(self.serialno, self.package_sha256)
        self.report.set_result(Result.RESTORED, phase="confirm",
                               message=f"{self.manifest.build} did not boot; the previous images were restored "
                                       f"(running {build or old_build or 'the old build'})")

    def _restore(self, device: FastbootDevice, entry: JournalEntry) -> None:
        self.enter("restore")
        self.show("restoring")
        in_place.restore(device, self.station.journal, entry, lambda text: self.say("INFO", text))

    def _journal_entry(self, current: str, target_slot: str) -> JournalEntry:
        journal = self.station.journal
        entry = journal.load(self.serialno, self.package_sha256)
        if entry and entry.active_slot == current and entry.target_slot == target_slot and not entry.switched:
            if entry.verified:
                self.report.resumed = True
                self.say("INFO", f"resuming: {', '.join(entry.verified)} already written and verified")
            return entry
        entry = JournalEntry(self.serialno, self.package_sha256, current, target_slot)
        journal.save(entry)
        return entry

    def await_return(self, what: str = "the handset to come back") -> FastbootDevice:
        """The same handset (by serial number) back in fastboot: on its old address, or,
        with a scanner, on whichever link it returns."""
        return wait_for_fastboot(self.address, timeout=self.options.return_timeout,
                                 serialno=self.report.device_serial or None, scanner=self.options.scanner,
                                 timeouts=self.options.timeouts, on_progress=self.waiting_for(what),
                                 on_moved=lambda address: self.say("INFO", f"the handset came back on {address}"))

    def waiting_for(self, what: str) -> Callable[[int], None]:
        """Shows the faces how long a wait has lasted, beside the state it happens in."""
        def waited(seconds: int) -> None:
            self.emit(StateChanged(self.serialno, self._state, f"waiting for {what}: {seconds} s"))
        return waited

    # -- bookkeeping -----------------------------------------------------------

    def enter(self, phase: str) -> None:
        now = time.monotonic()
        if self._phase_started:
            durations = self.report.durations
            durations[self._phase] = round(durations.get(self._phase, 0.0) + now - self._phase_started, 3)
        self._phase, self._phase_started = phase, now
        if self.report.result == Result.IN_PROGRESS.name:
            # So that an attempt cut off by the host dying still leaves its report behind.
            self.report.phase = phase
            self.station.history.record(self.report)

    def show(self, state: str, detail: str = "") -> None:
        self._state = state
        self.say("INFO", f"{state} {detail}".strip())
        self.emit(StateChanged(self.serialno, state, detail))

    def say(self, level: str, text: str) -> None:
        if self._log:
            self._log.write(level, text)
        self.emit(LogLine(self.serialno, level, text))

    def _fail(self, result: Result, error: Exception) -> None:
        hint = getattr(error, "hint", "")
        self.report.set_result(result, phase=self._phase, message=str(error) + (f" ({hint})" if hint else ""))
        self.say("ERROR", self.report.message)

    def _finish(self) -> None:
        report = self.report
        self.enter("done")
        report.ended_at = utc_now()
        final = {Result.SUCCESS.name: "done", Result.ROLLED_BACK.name: "rolled back",
                 Result.CANCELLED.name: "cancelled", Result.DRY_RUN.name: "planned",
                 Result.NEEDS_REBOOT.name: "switched",
                 Result.NOT_CONFIRMED.name: "not confirmed", Result.BOOTED_NOT_CONFIRMED.name: "not confirmed",
                 Result.NOT_AUTHORIZED.name: "not confirmed"}.get(report.result, "failed")
        if final != "planned":
            # An outcome reads "rolled back: why"; anything but success stands out in a filtered log.
            self.say("INFO" if final in ("done", "switched", "not confirmed") else "WARNING", f"{final}: {report.message}")
            self.emit(StateChanged(self.serialno, final, report.message))
        report.device_serial = report.device_serial or self.address
        report.log_tail, report.log_sha256 = self._log.close()
        if self.options.record:
            final_path = self.station.logs_dir / file_key(report.device_serial) / f"{report.report_id}.log"
            private_folder(final_path.parent)
            self._log.path.replace(final_path)
            report.log_path = str(final_path)
            self.station.history.record(report)
            self.station.on_recorded(report)
        else:
            self._log.path.unlink(missing_ok=True)
        self.emit(Finished(report))
