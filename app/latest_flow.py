""""Update to latest" in the station window: choose each handset's newest build from the catalog and
the library, fetch each chosen package once for all the handsets that chose it, then hand every
handset to the board with its own package; a delta that does not apply is followed by the full one.

It lives in the GUI thread beside the Board it serves; the choosing and the downloads run on its
own pool, so long network waits stay out of the scans' and the sessions' pools.
"""

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import QTimer

from flasher.history.report import Report
from flasher.selection.choose import CATALOG, Candidate, Choice
from flasher.selection.latest import REFUSED_PACKAGE, HandsetPlan, LatestUpdate, record_refusal
from flasher.update.events import Progress, StateChanged
from flasher.update.session import Cancelled, CancelToken
from flasher.update.updater import FALL_BACK_ON, Updater

from .jobs import Jobs, Outcome

PROBE_WAIT_MS = 100


@dataclass
class _Fetch:
    """One package being fetched and prepared for the handsets that chose it; cancelled once none waits."""

    token: CancelToken
    members: set[str]


class LatestFlow:
    def __init__(self, board):
        self.board = board
        self.fetches = Jobs(2, board)
        self.choosing: set[str] = set()
        self.fetching: dict[str, _Fetch] = {}
        self._plans: dict[str, tuple[LatestUpdate, HandsetPlan]] = {}  # until the handset's session ends
        self._session_updaters: dict[str, Updater] = {}  # sessions on a package of their own

    @property
    def busy(self) -> bool:
        return self.fetches.running > 0

    def start(self, addresses: list[str]) -> list[str]:
        """Take these handsets on; returns those taken (the others are busy or gone)."""
        board = self.board
        chosen = [a for a in addresses if a in board.rows and not board.rows[a].active and not board.is_taken(a)]
        for address in chosen:
            row = board.rows[address]
            row.start_session()
            row.state, row.choice, row.choice_tip = "choosing", "", ""
        self.choosing.update(chosen)
        if chosen:
            self._plan(board.latest(), chosen)
        board.rows_changed.emit(chosen)
        return chosen

    def cancel(self, address: str) -> bool:
        """Stop choosing or fetching for this handset; a fetch is cancelled once no handset waits for it."""
        if address in self.choosing:
            self.choosing.discard(address)
            return True
        fetch = self.fetching.pop(address, None)
        if fetch is None:
            return False
        self._plans.pop(address, None)
        fetch.members.discard(address)
        if not fetch.members:
            fetch.token.cancel()
        return True

    def session_ended(self, address: str, report: Report | None) -> bool:
        """Called for every session that ends; True when a fallback to the full package takes over."""
        if self._fall_back(address, report):
            return True
        self._release_updater(address)
        return False

    def close(self) -> None:
        """Close the packages sessions still hold; the board has waited for every job."""
        for updater in set(self._session_updaters.values()):
            updater.close()
        self._session_updaters.clear()

    def _plan(self, latest: LatestUpdate, addresses: list[str]) -> None:
        board = self.board
        addresses = [a for a in addresses if a in self.choosing]  # not cancelled meanwhile
        if not addresses or board.shut_down:
            return
        if board.probing_any(addresses):  # a probe still has the handset; it lets go within seconds
            QTimer.singleShot(PROBE_WAIT_MS, lambda: self._plan(latest, addresses))
            return
        self.fetches.start(lambda: latest.plan(addresses), lambda outcome: self._planned(latest, addresses, outcome))

    def _planned(self, latest: LatestUpdate, addresses: list[str], outcome: Outcome) -> None:
        board = self.board
        mine = [a for a in addresses if a in self.choosing and a in board.rows]
        self.choosing.difference_update(addresses)
        if outcome.error is not None:  # the catalog was refused or not reached: no handset was read
            error = outcome.error
            for address in mine:
                row = board.rows[address]
                row.state, row.choice, row.choice_tip = "idle", "✗ no catalog", with_hint(error)
            board.feed.say("", "ERROR", f"update to latest: {with_hint(error)}")
            board.latest_failed.emit(error)
            board.rows_changed.emit(mine)
            return
        groups: dict[Candidate, list[str]] = {}
        for plan in outcome.value:
            if plan.address not in mine:
                continue
            row = board.rows[plan.address]
            row.choice, row.choice_tip = _choice_text(plan)
            board.feed.say(plan.address, "INFO" if plan.choice or plan.up_to_date else "WARNING", plan.describe())
            if plan.choice is None:
                row.state = "idle"
                continue
            self._plans[plan.address] = (latest, plan)
            groups.setdefault(plan.choice.package, []).append(plan.address)
        for package, members in groups.items():
            self._fetch(latest, package, members)
        board.rows_changed.emit(mine)

    def _fetch(self, latest: LatestUpdate, package: Candidate, addresses: list[str]) -> None:
        """Download (catalog) or open (library) the package and extract its images, for every handset
        that chose it; their sessions start when it is ready."""
        board = self.board
        fetch = _Fetch(CancelToken(), set(addresses))
        first = "downloading" if package.origin == CATALOG else "preparing"
        for address in addresses:
            self.fetching[address] = fetch
            row = board.rows[address]
            row.start_session()
            row.state, row.detail = first, package.package_id
        feed, station, cache, shown = board.feed, board.station, board.cache, [first]

        def progress(label: str, done: int, total: int) -> None:  # on the worker: only the feed is touched
            state = "preparing" if label.startswith("verify ") else "downloading"
            for address in addresses:
                if address in fetch.members:
                    if state != shown[0]:
                        feed.put(address, StateChanged(address, state, package.package_id))
                    feed.put(address, Progress(address, done, total))
            shown[0] = state
        self.fetches.start(lambda: latest.prepare(package, station, cache=cache, progress=progress,
                                                  cancel=fetch.token),
                           lambda outcome: self._fetched(package, fetch, outcome))
        board.rows_changed.emit(addresses)

    def _fetched(self, package: Candidate, fetch: _Fetch, outcome: Outcome) -> None:
        board = self.board
        board.drain()
        members = [a for a in fetch.members if self.fetching.get(a) is fetch and a in board.rows]
        for address in list(fetch.members):
            if self.fetching.get(address) is fetch:
                del self.fetching[address]
        error = outcome.error
        if error is None:
            updater: Updater = outcome.value
            for address in members:
                self._session_updaters[address] = updater
                board.start_session(address, updater)
            if not members:
                updater.close()
            return
        if isinstance(error, REFUSED_PACKAGE):
            # A refused package is still an attempt on each handset, as `tsuf update --latest` records it.
            handsets = [(self._plans[a][1].identity.serialno, a) for a in members]
            for address, report in zip(members, record_refusal(board.station, handsets, package.package_id, error)):
                self._plans.pop(address, None)
                board.finish(address, report)
            return
        for address in members:  # a download that failed or was stopped is no attempt: nothing was written
            self._plans.pop(address, None)
            row = board.rows[address]
            row.state = "idle" if isinstance(error, Cancelled) else "failed"
            row.detail = "" if isinstance(error, Cancelled) else f"{package.package_id}: {with_hint(error)}"
            board.feed.say(address, "ERROR", f"{package.package_id} not fetched: {with_hint(error)}")
        board.rows_changed.emit(members)

    def _fall_back(self, address: str, report: Report | None) -> bool:
        """A delta that does not apply to this handset: fetch the same build's full package and go again."""
        board = self.board
        latest, plan = self._plans.pop(address, (None, None))
        if plan is None or report is None or report.result not in FALL_BACK_ON or address not in board.rows:
            return False
        fallback = plan.choice.fallback
        if fallback is None:
            return False
        self._release_updater(address)
        board.report_recorded.emit(report)  # the delta's attempt is in the history too
        board.feed.say(address, "WARNING", f"{report.result}: the delta does not apply; "
                                           f"falling back to {fallback.package_id}")
        reason = f"full: the delta from {plan.identity.build} did not apply"
        self._plans[address] = (latest, dataclasses.replace(plan, choice=Choice(fallback, None, reason)))
        row = board.rows[address]
        row.choice, row.choice_tip = reason, report.message
        self._fetch(latest, fallback, [address])
        return True

    def _release_updater(self, address: str) -> None:
        updater = self._session_updaters.pop(address, None)
        if updater is not None and updater not in self._session_updaters.values():
            updater.close()


def with_hint(error: BaseException) -> str:
    hint = getattr(error, "hint", "")
    return f"{error} ({hint})" if hint else str(error)


def _choice_text(plan: HandsetPlan) -> tuple[str, str]:
    """The Package column's words for a plan, and its tooltip."""
    if plan.choice:
        return plan.choice.reason, f"{plan.choice.package.package_id}: {plan.describe()}"
    if plan.up_to_date:
        return "✓ up to date", plan.describe()
    return "✗ no update", with_hint(plan.problem)
