"""The guided mode's state: which step, what the page says, and the work running for it.

It lives in the GUI thread. Scans and the steps' work run in `Jobs` (one at a time:
one phone, one host); a session's events come through a `SessionFeed` drained ten
times a second, as in the station window. The window only shows `page` and calls
`primary`, `secondary` and `cancel`.
"""

import dataclasses
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from flasher.discovery.found import FoundDevice
from flasher.errors import FlasherError
from flasher.history.codes import Result
from flasher.history.report import Report
from flasher.selection.choose import CATALOG
from flasher.transport.errors import TransportError
from flasher.update.android_confirmation import ALLOW_PROMPT
from flasher.update.events import Progress, StateChanged
from flasher.update.session import CancelToken
from flasher.update.updater import Updater

from .. import handset_tasks
from ..device_row import FINAL_STATES
from ..jobs import Jobs, Outcome
from ..session_feed import LogEntry, SessionFeed
from . import steps, wording
from .steps import Checked, GuidedSetup
from .wording import Page

DRAIN_INTERVAL_MS = 100
SCAN_INTERVAL_MS = 1000
MAX_DETAIL_LINES = 2000
# States whose progress figures mean something: bytes downloaded, checked, written, read back or sent.
COUNTED_STATES = {"download", "check", "downloading", "writing", "verifying", "sideloading"}


def _named(found: list[FoundDevice], known: str | None) -> list[FoundDevice]:
    """A newly found phone that the scan listed without asking it (USB by its port) is asked its model,
    in the scan's worker and before its page shows, so nothing else has the phone meanwhile."""
    ready = steps.ready_phones(found)
    if len(ready) != 1 or ready[0].product or ready[0].address == known or len(found) != 1:
        return found
    try:
        product = handset_tasks.identify(ready[0].address).product
    except FlasherError:
        return found  # it says nothing now: shown without a model, and Check asks it again
    return [dataclasses.replace(ready[0], product=product or None)]


class GuidedFlow(QObject):
    page_changed = Signal(object)  # Page
    close_requested = Signal()

    def __init__(self, setup: GuidedSetup, *, scan_interval_ms: int = SCAN_INTERVAL_MS,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.setup = setup
        self.page: Page = wording.waiting_for_phone()
        self.address: str | None = None
        self.report: Report | None = None
        self.checked: Checked | None = None
        self.lines: list[LogEntry] = []
        self.feed = SessionFeed()
        self._work = Jobs(1, self)
        self._scans = Jobs(1, self)
        self._latest = None
        self._updater: Updater | None = None
        self._token: CancelToken | None = None
        self._primary: Callable[[], None] | None = None
        self._secondary: Callable[[], None] | None = None
        self._looking = True  # scanning for the phone (Connect), not working with it
        self._state = ""
        self._shut_down = False
        self._scan_timer = QTimer(self, interval=scan_interval_ms, timeout=self._scan_now)
        self._drain_timer = QTimer(self, interval=DRAIN_INTERVAL_MS, timeout=self._drain)

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        self._drain_timer.start()
        self._scan_timer.start()
        self.start_over()

    @property
    def busy(self) -> bool:
        """A step is working with the phone or the update: closing must wait for it."""
        return self._work.running > 0

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
            self.say("INFO", "stop asked for")

    def shutdown(self) -> None:
        """Stop for good; call once `busy` is clear (cancel, then wait)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._scan_timer.stop()
        self._drain_timer.stop()
        self._work.wait()
        self._scans.wait()
        self._drop_updater()

    def primary(self) -> None:
        if self._primary is not None:
            self._primary()

    def secondary(self) -> None:
        if self._secondary is not None:
            self._secondary()

    def say(self, level: str, text: str) -> None:
        self.feed.say(self.address or "", level, text)

    def _show(self, page: Page, primary: Callable[[], None] | None = None,
              secondary: Callable[[], None] | None = None) -> None:
        self.page, self._primary, self._secondary = page, primary, secondary
        self.page_changed.emit(page)

    # -- 1 Connect ------------------------------------------------------------------------

    def start_over(self) -> None:
        self._drop_updater()
        self.address, self.report, self.checked, self._looking = None, None, None, True
        self._show(wording.waiting_for_phone())
        self._scan_now()

    def _scan_now(self) -> None:
        if not self._looking or self._scans.running or self.busy:
            return
        known = self.address
        self._scans.start(lambda: _named(self.setup.scan(set()), known), self._scanned)

    def _scanned(self, outcome: Outcome) -> None:
        if not self._looking:
            return
        if outcome.error is not None:
            self.say("WARNING", f"scan failed: {outcome.error}")
            return
        found = outcome.value
        ready = steps.ready_phones(found)
        phones = len({device.serialno or device.address for device in found})  # one phone may show on two links
        if phones > 1:
            self.address = None
            self._show(wording.several_phones(phones))
        elif found and not ready:
            self.address = None
            self._show(wording.phone_not_ready())
        elif ready:
            phone = ready[0]
            if phone.address != self.address:
                self.address = phone.address
                self.say("INFO", " ".join(filter(None, ("found", phone.product or "a handset", phone.serialno,
                                                        f"at {phone.address} ({phone.mode})"))))
                self._show(wording.phone_found(phone.product), self.check)
        elif self.address is not None or self.page.tone != "busy":  # unplugged
            self.address = None
            self._show(wording.waiting_for_phone())

    # -- 2 Check --------------------------------------------------------------------------

    def check(self) -> None:
        if self.address is None or self.busy:
            return
        self._looking = False
        self._show(wording.checking())
        latest, address = self.setup.latest(), self.address
        self._latest = latest
        self.say("INFO", f"identifying {address} and choosing its update")
        self._work.start(lambda: steps.check(latest, address), self._checked)

    def _checked(self, outcome: Outcome) -> None:
        if outcome.error is not None:  # a phone that stopped answering must be found again
            again = self.start_over if isinstance(outcome.error, TransportError) else self.check
            self._stopped(wording.CHECK, outcome.error, again)
            return
        checked: Checked = outcome.value
        self.checked = checked
        plan = checked.plan
        self.say("INFO", f"{plan.identity.serialno}: {plan.describe()}"
                         + (f"; battery about {checked.battery_percent} %" if checked.battery_percent is not None
                            else ""))
        if plan.up_to_date:
            self._show(wording.up_to_date(plan.identity.build), self.close_requested.emit, self.start_over)
        elif plan.choice is None:
            self._stopped(wording.CHECK, plan.problem, self.check)
        elif checked.battery_low:
            self._show(wording.battery_low(checked.battery_percent, steps.MIN_BATTERY_PERCENT), self.check)
        else:
            package = plan.choice.package
            self._show(wording.update_found(plan.identity.build, package.build, package.size,
                                            on_this_computer=package.origin != CATALOG,
                                            battery=checked.battery_percent), self.download)

    # -- 3 Download -----------------------------------------------------------------------

    def download(self) -> None:
        if self.checked is None or self.busy:
            return
        plan, latest, setup = self.checked.plan, self._latest, self.setup
        token = self._token = CancelToken()
        package = plan.choice.package
        self._state = "download"
        self._show(wording.downloading(0, package.size), secondary=self.cancel)
        self.say("INFO", f"fetching {package.package_id} from {package.location}")
        address, feed, phase = plan.address, self.feed, [""]

        def progress(label: str, done: int, total: int) -> None:
            now = "check" if steps.is_checking(label) else "download"
            if now != phase[0]:
                phase[0] = now
                feed.put(address, StateChanged(address, now))
            feed.put(address, Progress(address, done, total))
        self._work.start(lambda: latest.prepare(package, setup.station, cache=setup.cache, progress=progress,
                                                cancel=token), self._downloaded)

    def _downloaded(self, outcome: Outcome) -> None:
        self._drain()
        self._token = None
        if outcome.error is not None:
            self._stopped(wording.DOWNLOAD, outcome.error, self.download)
            return
        self._updater = outcome.value
        self.say("INFO", f"{self._updater.manifest.package_id} verified and ready")
        self._show(wording.ready_to_install(self._updater.manifest.build), self.install)

    # -- 4 Install ------------------------------------------------------------------------

    def install(self) -> None:
        if self._updater is None or self.busy:
            return
        plan, latest, setup, updater = self.checked.plan, self._latest, self.setup, self._updater
        token = self._token = CancelToken()
        self._state = "connecting"
        self._show(wording.installing("connecting", 0, 0))
        emit = self.feed.emitter(plan.address)
        self._work.start(lambda: steps.install(latest, plan, updater, setup, emit, token), self._installed)

    def _installed(self, outcome: Outcome) -> None:
        self._drain()
        self._token = None
        self._drop_updater()
        if outcome.error is not None:
            self._stopped(wording.INSTALL, outcome.error, self.start_over)
            return
        report: Report = outcome.value
        self.report = report
        # Into the log for good: "Try again" starts over without the details losing the attempt.
        for line in (f"result: {report.result} (code {Result[report.result].code})", f"message: {report.message}",
                     f"report id: {report.report_id}", f"log file: {report.log_path}"):
            self.say("INFO", line)
        if report.result == Result.SUCCESS.name:
            self._show(wording.installed(report.to_build), self.close_requested.emit, self.start_over)
        else:
            self._show(wording.failed(wording.INSTALL, Result[report.result],
                                      old_software_kept=wording.old_software_kept(report)), self.start_over)

    # -- shared ---------------------------------------------------------------------------

    def _stopped(self, step: int, error: BaseException, again: Callable[[], None]) -> None:
        hint = getattr(error, "hint", "")
        self.say("ERROR", f"{type(error).__name__}: {error}" + (f" ({hint})" if hint else ""))
        self._show(wording.problem(step, error), again)

    def _drop_updater(self) -> None:
        if self._updater is not None:
            self._updater.close()
            self._updater = None

    def _drain(self) -> None:
        batch = self.feed.drain()
        if not batch:
            return
        self.lines.extend(batch.lines)
        del self.lines[:-MAX_DETAIL_LINES]
        if self.page.step not in (wording.DOWNLOAD, wording.INSTALL) or self.page.tone != "busy":
            return
        for _address, state, detail in batch.states:  # each one shown, however quickly they came
            if state in FINAL_STATES:  # the result page says it, from the report
                continue
            # The phone waits for its user: that moment has its own words.
            self._state = ALLOW_PROMPT if detail == ALLOW_PROMPT else state
            self._show_progress(0, 0)  # a new state's figures start afresh
        if self._state in COUNTED_STATES:  # figures of a state already left would mislabel the next one
            for done, total, _when in batch.progress.values():
                self._show_progress(done, total)

    def _show_progress(self, done: int, total: int) -> None:
        if self.page.step == wording.DOWNLOAD:
            page = wording.checking_download(done, total) if self._state == "check" else \
                wording.downloading(done, total)
            self._show(page, secondary=self.cancel)
        else:
            self._show(wording.installing(self._state, done, total))

    def details(self) -> str:
        """The technical log for "Show details": every line so far, the attempts' reports among them.
        It only grows, so the details box only ever gets lines added."""
        self._drain()
        return "\n".join(f"{time.strftime('%H:%M:%S', time.localtime(e.at))} {e.level:7} {e.text}"
                         for e in self.lines)
