"""The station's state: the handsets in reach, the open package, the running sessions.

All of it lives in the GUI thread; worker threads only run the blocking
calls (scan, identify, dry run, update) and report back through `Jobs`
callbacks or the `SessionFeed`. A handset is opened by one thing at a time:
a probe (identify, then a dry run when a package is open), choosing its
newest build ("update to latest") or a session.
"""

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from flasher.cache.store import FirmwareCache
from flasher.discovery.found import RECOVERY_MODES
from flasher.history.codes import Result
from flasher.history.report import Report
from flasher.package.trust import TrustStore
from flasher.selection.latest import LatestUpdate
from flasher.update.events import StateChanged
from flasher.update.preflight import Policy
from flasher.update.session import CancelToken, Options, Station
from flasher.update.updater import Updater

from . import handset_tasks
from .device_row import FINAL_STATES, TRANSFER_STATES, DeviceRow
from .discovery_scan import Scan
from .jobs import Job, Jobs, Outcome
from .latest_flow import LatestFlow
from .session_feed import LogEntry, SessionFeed

DRAIN_INTERVAL_MS = 100  # repaint at most ~10 times a second, however fast sessions report
REFRESH_EVERY = 10  # drains between repaints of transfers that report nothing: once a second
SCAN_INTERVAL_MS = 1500
SCANS_BEFORE_GONE = 2  # one missed answer (a handset busy with another host) is not an unplug
FINAL_STATE_OF = {Result.SUCCESS.name: "done", Result.ROLLED_BACK.name: "rolled back",
                  Result.CANCELLED.name: "cancelled", Result.NEEDS_REBOOT.name: "switched",
                  Result.NOT_CONFIRMED.name: "not confirmed", Result.BOOTED_NOT_CONFIRMED.name: "not confirmed",
                  Result.NOT_AUTHORIZED.name: "not confirmed"}



def station_policy(settings) -> Policy:
    """Station mode runs unattended: a handset that does not report its battery waits for an explicit choice."""
    return Policy(battery_unknown_ok=settings.battery_unknown_ok)

class Board(QObject):
    rows_reset = Signal()           # rows added or removed
    rows_changed = Signal(list)     # addresses whose figures changed
    log_lines = Signal(list)        # LogEntry batch
    report_recorded = Signal(object)
    package_changed = Signal()      # an updater opened, or closed
    package_failed = Signal(object)  # the error that refused a package
    counters_changed = Signal()
    latest_failed = Signal(object)  # the error that kept "update to latest" from choosing (a refused catalog)

    def __init__(self, station: Station, trust_store: TrustStore, scan: Scan, *, parallel: int = 4,
                 options: Options = Options(), scan_interval_ms: int = SCAN_INTERVAL_MS,
                 latest: Callable[[], LatestUpdate] | None = None, cache: FirmwareCache | None = None,
                 rollout: Callable[[str], str] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.station, self.trust_store, self._scan = station, trust_store, scan
        self.options = options
        self.latest, self.cache = latest, cache  # where "update to latest" chooses from; None: not offered
        self.rollout = rollout  # asks the rollout server which build it assigns a handset (by address)
        self.rows: dict[str, DeviceRow] = {}
        self.updater: Updater | None = None
        self.package_path: Path | None = None
        self.station_mode = False
        self.paused = False
        self.done_count = self.failed_count = 0
        self.feed = SessionFeed()
        self._sessions = Jobs(parallel, self)
        self._probes = Jobs(8, self)
        self._misc = Jobs(2, self)
        self._tokens: dict[str, CancelToken] = {}
        self._queued: dict[str, Job] = {}
        self._probing: set[str] = set()
        self._recheck: set[str] = set()
        self._pending_updates: set[str] = set()
        self.latest_flow = LatestFlow(self)
        self._scanning = False
        self._drains = 0
        self._opening = False
        self.shut_down = False
        self._drain_timer = QTimer(self, interval=DRAIN_INTERVAL_MS, timeout=self.drain)
        self._scan_timer = QTimer(self, interval=scan_interval_ms, timeout=self._scan_now)

    # -- life ------------------------------------------------------------------

    def start(self) -> None:
        self._drain_timer.start()
        self._scan_timer.start()
        self._scan_now()

    @property
    def parallel(self) -> int:
        return self._sessions.pool.maxThreadCount()

    def set_parallel(self, count: int) -> None:
        self._sessions.set_max_threads(count)

    @property
    def busy(self) -> bool:
        """Sessions queued or running, or packages being chosen or fetched for them."""
        return self._sessions.running > 0 or self.latest_flow.busy

    @property
    def probing(self) -> bool:
        return bool(self._probing)

    def set_paused(self, paused: bool) -> None:
        """While another window (guided mode) has the handsets: no scans and no probes."""
        self.paused = paused
        if paused:
            self._scan_timer.stop()
            return
        self._scan_timer.start()
        self._scan_now()
        for address in self.rows:  # builds may have changed meanwhile
            self._probe(address)

    def shutdown(self) -> None:
        """Stop for good; call only once no session runs (cancel_all, then wait for `busy` to clear)."""
        if self.shut_down:
            return
        self.shut_down = True
        self._drain_timer.stop()
        self._scan_timer.stop()
        for jobs in (self._sessions, self._probes, self._misc, self.latest_flow.fetches):
            jobs.wait()
        self.drain()
        if self.updater:
            self.updater.close()
            self.updater = None
        self.latest_flow.close()

    # -- package ---------------------------------------------------------------

    def open_package(self, path: Path, *, unsigned_factory_images: bool = False) -> bool:
        """Verify and prepare a package off the GUI thread; False while sessions use the current one.
        Factory images open only with `unsigned_factory_images`, the user's answer for this file."""
        if self.busy or self._opening:
            return False
        self._opening = True
        path = Path(path)

        def work() -> Updater:
            updater = Updater(path, self.trust_store, self.station, unsigned_factory_images=unsigned_factory_images)
            try:
                updater.prepare()
            except BaseException:
                updater.close()
                raise
            return updater

        def done(outcome: Outcome) -> None:
            self._opening = False
            if outcome.error is not None:
                self.package_failed.emit(outcome.error)
                return
            if self.updater:
                self.updater.close()
            self.updater, self.package_path = outcome.value, path
            for row in self.rows.values():
                row.compatible, row.compat_reason, row.choice, row.choice_tip = None, "", "", ""
            self.package_changed.emit()
            self.rows_changed.emit(list(self.rows))
            for address in self.rows:
                self._probe(address)
        self._misc.start(work, done)
        return True

    @property
    def opening(self) -> bool:
        return self._opening

    # -- discovery and probes ------------------------------------------------------

    def _busy_addresses(self) -> set[str]:
        return set(self._tokens) | self._probing | self.latest_flow.choosing

    def _scan_now(self) -> None:
        if self._scanning:
            return
        self._scanning = True
        busy = self._busy_addresses()
        self._misc.start(lambda: self._scan(busy), lambda outcome: self._scanned(busy, outcome))

    def _scanned(self, skipped: set[str], outcome: Outcome) -> None:
        self._scanning = False
        if outcome.error is not None or self.paused:
            return  # a scan that fails changes nothing; the next one may work
        found = {device.address: device for device in outcome.value}
        changed = False
        in_use = skipped | self._busy_addresses()  # not looked at, or busy since: no news of them
        for address, row in list(self.rows.items()):
            if address in found or address in in_use:
                row.missed_scans = 0
                continue
            row.missed_scans += 1
            if row.missed_scans >= SCANS_BEFORE_GONE:  # unplugged
                del self.rows[address]
                self._pending_updates.discard(address)
                changed = True
        for address, device in found.items():
            row = self.rows.get(address)
            if row is None:
                self.rows[address] = DeviceRow(address, device.link, device.mode, device.serialno or "",
                                               device.product or "")
                changed = True
                self._probe(address)
            elif device.mode not in (row.mode, "unknown") and address not in in_use and not row.active:
                # The same handset in another mode (into recovery and back): the row follows it.
                row.mode, row.serialno = device.mode, row.serialno or device.serialno or ""
                self.rows_changed.emit([address])
                self._probe(address)
        if changed:
            self.rows_reset.emit()

    def _probe(self, address: str) -> None:
        """Identify the handset, then check the package against it (a dry run)."""
        row = self.rows.get(address)
        if row is None or row.active or address in self._tokens or self.paused:
            return
        if row.mode in RECOVERY_MODES:  # it answers ADB, not fastboot: nothing to ask until it leaves
            row.compatible, row.compat_reason = None, row.mode_note
            self.rows_changed.emit([address])
            return
        if address in self._probing:
            self._recheck.add(address)
            return
        self._probing.add(address)
        updater = self.updater
        if updater and not row.finished:
            row.compatible, row.compat_reason = None, "checking…"
            self.rows_changed.emit([address])

        def work():
            identity = handset_tasks.identify(address)
            report = handset_tasks.preflight_check(updater, address) if updater and not row.finished else None
            return identity, report, self.rollout(address) if self.rollout else ""

        self._probes.start(work, lambda outcome: self._probed(address, updater, outcome))

    def _probed(self, address: str, updater: Updater | None, outcome: Outcome) -> None:
        self._probing.discard(address)
        row = self.rows.get(address)
        if row is None:
            return
        if outcome.error is not None:
            row.mode = row.mode or "unknown"
            row.compat_reason = f"not answering: {outcome.error}"
            self.feed.say(address, "WARNING", f"could not identify the handset: {outcome.error}")
        else:
            identity, report, row.assigned = outcome.value
            row.product, row.serialno = identity.product or row.product, identity.serialno or row.serialno
            row.slot, row.build, row.battery_mv = identity.slot, identity.build, identity.battery_mv
            if report is not None and updater is self.updater:
                row.compatible = handset_tasks.is_compatible(report)
                row.compat_reason = "" if row.compatible else f"{report.result}: {report.message}"
        self.rows_changed.emit([address])
        if address in self._recheck or (self.updater and updater is not self.updater):
            self._recheck.discard(address)
            self._probe(address)
            return
        if address in self._pending_updates:
            self._pending_updates.discard(address)
            self.start_session(address)
        elif self.station_mode and address in self.compatible_idle():
            self.start_session(address)

    # -- updates ------------------------------------------------------------------

    def up_to_date(self, row: DeviceRow) -> bool:
        """Already runs the package's build: station mode and "update all" leave it alone."""
        return self.updater is not None and bool(row.build) and row.build == self.updater.manifest.build

    def compatible_idle(self) -> list[str]:
        return [a for a, row in self.rows.items() if row.compatible and not self.up_to_date(row)
                and not row.active and not row.finished and a not in self._tokens]

    def update(self, addresses: list[str]) -> list[str]:
        """Start sessions (bounded by `parallel`, the rest wait queued); returns those started or pending."""
        if self.updater is None:
            return []
        started = []
        for address in addresses:
            row = self.rows.get(address)
            if row is None or address in self._tokens or address in self._pending_updates:
                continue
            if address in self._probing:
                self._pending_updates.add(address)  # once the probe lets go of the handset
                row.state = "queued"
            else:
                self.start_session(address)
            started.append(address)
        self.rows_changed.emit(started)
        return started

    def set_station_mode(self, on: bool) -> None:
        self.station_mode = on
        if on:
            self.update(self.compatible_idle())

    def start_session(self, address: str, updater: Updater | None = None) -> None:
        row, updater = self.rows[address], updater or self.updater
        token = CancelToken()
        self._tokens[address] = token
        row.start_session()
        emit = self.feed.emitter(address)
        options = self.options

        def work() -> Report:
            emit(StateChanged(address, "connecting"))
            return updater.session(address, options=options, emit=emit, cancel=token).run()

        self._queued[address] = self._sessions.start(work, lambda outcome: self._session_ended(address, outcome))
        self.rows_changed.emit([address])

    def _session_ended(self, address: str, outcome: Outcome) -> None:
        self._tokens.pop(address, None)
        self._queued.pop(address, None)
        self.drain()  # the session's last events first, so the final state below stands
        if self.latest_flow.session_ended(address, outcome.value):
            return
        self.finish(address, outcome.value, outcome.error)

    def finish(self, address: str, report: Report | None, error: BaseException | None = None) -> None:
        """An attempt's end: the row's final state, the counters, the history view."""
        row = self.rows.get(address)
        if error is not None:
            state, detail = "failed", f"internal error: {error}"
        else:
            state, detail = FINAL_STATE_OF.get(report.result, "failed"), report.message
        if report is not None and report.result == Result.SUCCESS.name:
            self.done_count += 1
        elif report is None or report.result != Result.CANCELLED.name:
            self.failed_count += 1
        self.counters_changed.emit()
        if report is not None:
            self.report_recorded.emit(report)
        if row is None:
            return
        row.state, row.detail, row.report = state, detail, report
        self.rows_changed.emit([address])
        self._probe(address)  # slot and build have changed

    def cancel(self, addresses: list[str]) -> None:
        for address in addresses:
            self._pending_updates.discard(address)
            token = self._tokens.get(address)
            row = self.rows.get(address)
            if self.latest_flow.cancel(address):
                if row is not None:
                    row.state, row.detail = "idle", ""
                continue
            if token is None:
                if row is not None and row.state == "queued":
                    row.state = "idle"
                continue
            token.cancel()
            job = self._queued.get(address)
            if job is not None and self._sessions.take_back(job):  # never started: nothing to undo
                self._tokens.pop(address, None)
                self._queued.pop(address, None)
                if row is not None:
                    row.state, row.detail = "idle", ""
            elif row is not None:
                row.detail = "cancelling…"
        self.rows_changed.emit(list(addresses))

    def cancel_all(self) -> None:
        self.set_station_mode(False)
        self.cancel(list(self._tokens) + list(self._pending_updates) + list(self.latest_flow.choosing)
                    + list(self.latest_flow.fetching))

    def clear_finished(self, addresses: list[str]) -> None:
        """Make finished rows idle again, so they can be updated once more."""
        for address in addresses:
            row = self.rows.get(address)
            if row is not None and row.finished:
                row.state, row.detail, row.done, row.total = "idle", "", 0, 0
                self._probe(address)
        self.rows_changed.emit(list(addresses))

    def reboot_to_bootloader(self, addresses: list[str]) -> list[str]:
        chosen = [a for a in addresses if a in self.rows and a not in self._tokens and a not in self._probing]
        for address in chosen:
            self._probing.add(address)
            self.feed.say(address, "INFO", "rebooting to the bootloader")
            in_recovery = self.rows[address].mode in RECOVERY_MODES
            reboot = handset_tasks.leave_recovery if in_recovery else handset_tasks.reboot_to_bootloader

            def done(outcome: Outcome, address: str = address) -> None:
                self._probing.discard(address)
                if outcome.error is not None:
                    self.feed.say(address, "ERROR", f"reboot failed: {outcome.error}")
            self._misc.start(lambda address=address, reboot=reboot: reboot(address), done)
        return chosen

    # -- update to latest (app/latest_flow.py) -----------------------------------------

    def update_latest(self, addresses: list[str]) -> list[str]:
        """Each handset gets its newest build by its best package; returns the handsets taken on."""
        return self.latest_flow.start(addresses) if self.latest is not None else []

    def is_taken(self, address: str) -> bool:
        """A session runs or waits for this handset."""
        return address in self._tokens or address in self._pending_updates

    def probing_any(self, addresses: list[str]) -> bool:
        return bool(self._probing.intersection(addresses))

    # -- the feed, drained on the GUI thread ---------------------------------------------

    def drain(self) -> None:
        batch = self.feed.drain()
        self._drains += 1
        touched = set()
        if self._drains % REFRESH_EVERY == 0:  # speeds decay and stalls show even when no event comes
            touched.update(address for address, row in self.rows.items() if row.state in TRANSFER_STATES)
        if not batch and not touched:
            return
        for address, state, detail in batch.states:
            row = self.rows.get(address)
            # The final state comes with the report, when the session's job returns: never one without the other.
            if row is not None and state not in FINAL_STATES:
                row.state, row.detail = state, detail
                touched.add(address)
        for address, (done, total, when) in batch.progress.items():
            row = self.rows.get(address)
            if row is not None:
                row.add_progress(done, total, when)
                touched.add(address)
        lines: list[LogEntry] = batch.lines
        if batch.dropped_lines:
            lines.append(LogEntry("", "WARNING", f"{batch.dropped_lines} log lines not shown (too many at once; "
                                  "the per-attempt log files have them all)", lines[-1].at if lines else 0.0))
        if lines:
            self.log_lines.emit(lines)
        if touched:
            self.rows_changed.emit(sorted(touched))
