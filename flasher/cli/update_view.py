"""How `tsuf update` (and the demo) shows many handsets at once.

On a terminal: one live line per handset, redrawn in place. Elsewhere (logs,
CI): one line per state change. Then a summary table on stdout. What a handset said
(serial, build, messages) is shown through `printable`, so it cannot drive the terminal.
"""

import json
import sys
import threading
import time

from ..device_text import printable
from ..history.codes import Result
from ..history.report import Report
from ..update.events import Event, Finished, Progress, StateChanged
from ..transfer_rate import TransferRate
from .progress import human_bytes
from .table import format_table

_REDRAW_INTERVAL = 0.1
_TICK_SECONDS = 1.0  # redraws while no event comes, so a stalled handset reads as one
UNCONFIRMED = {Result.NOT_CONFIRMED.name, Result.BOOTED_NOT_CONFIRMED.name}
SUCCESSFUL = {Result.SUCCESS.name, Result.DRY_RUN.name, Result.NEEDS_REBOOT.name} | UNCONFIRMED


class _Line:
    def __init__(self):
        self.state = "waiting"
        self.detail = ""
        self.rate = TransferRate()
        self.finished = False


class DeviceBoard:
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._lines: dict[str, _Line] = {}
        self._drawn = 0
        self._drawn_at = 0.0
        self._lock = threading.Lock()
        if self.interactive:
            threading.Thread(target=self._tick, name="update board", daemon=True).start()

    def _tick(self) -> None:
        while True:
            time.sleep(_TICK_SECONDS)
            with self._lock:
                if any(not line.finished for line in self._lines.values()):  # never over the summary
                    try:
                        self._redraw(force=True)
                    except (OSError, ValueError):  # the terminal went away (closed, hung up)
                        return

    def handle(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, StateChanged):
                line = self._lines.setdefault(event.serialno, _Line())
                line.state, line.detail = event.state, event.detail
                if not self.interactive:
                    self.stream.write(f"{printable(event.serialno):12} {event.state} {printable(event.detail, None)}"
                                      .rstrip() + "\n")
                    self.stream.flush()
                    return
                self._redraw(force=True)
            elif isinstance(event, Progress):
                line = self._lines.setdefault(event.serialno, _Line())
                line.rate.add(event.done, event.total)
                self._redraw()
            elif isinstance(event, Finished):
                for serialno in (event.report.device_serial, event.report.address):
                    if serialno in self._lines:
                        self._lines[serialno].finished = True
                self._redraw(force=True)

    def _redraw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.interactive or (not force and now - self._drawn_at < _REDRAW_INTERVAL):
            return
        self._drawn_at = now
        out = "\x1b[F" * self._drawn
        # As wide as the longest name: a handset not yet identified is known by its whole address.
        width = max(12, *(len(printable(serialno)) for serialno in self._lines))
        for serialno, line in self._lines.items():
            out += "\x1b[2K" + _render(serialno, line, now, width) + "\n"
        self._drawn = len(self._lines)
        self.stream.write(out)
        self.stream.flush()


def _render(serialno: str, line: _Line, now: float, width: int = 12) -> str:
    rate = line.rate
    transfer = rate.total and line.state in ("writing", "verifying", "sideloading")
    # A detail with no bar after it is shown whole ("Allow USB debugging on the phone").
    text = f"{printable(serialno):{width}} {line.state:11} {printable(line.detail, 24 if transfer else None):24}"
    if transfer:
        fraction = rate.done / rate.total
        bar = "#" * int(fraction * 20)
        text += f" [{bar:.<20}] {fraction:4.0%} {human_bytes(rate.done)}/{human_bytes(rate.total)}"
        if line.state != "verifying":  # verification reads back without progress figures of its own
            text += " " + " ".join(rate.figures(now))
    return text


def print_summary(reports: list[Report], *, as_json: bool, show_address: bool = False) -> None:
    if as_json:
        print(json.dumps([report.to_dict() for report in reports], indent=2))
        return
    # Columns as wide as their longest cell: a handset that failed before it was identified is
    # known by its whole address, and result names are never cut.
    headings = ("handset", *(("link",) if show_address else ()), "slots", "build", "result", "time", "message")
    rows = []
    for report in reports:
        slots = f"{report.from_slot}->{report.to_slot}" if report.to_slot else ""
        rows.append((printable(report.device_serial, None),
                     *((report.address.partition(':')[0],) if show_address else ()),
                     slots, printable(f"{report.from_build or '?'}->{report.to_build}", None), report.result.lower(),
                     f"{sum(report.durations.values()):.1f}s", printable(report.message, None)))
        rows += [("", *(("",) if show_address else ()), "", "", "", "", printable(line, None))
                 for line in _unproven(report)]
    print(format_table(headings, rows, right=frozenset({len(headings) - 2})))
    print(outcome_line(reports))


def outcome_line(reports: list[Report]) -> str:
    """How many were updated, or with --dry-run, how many would be: a dry run updates nothing."""
    checked = sum(report.result == Result.DRY_RUN.name for report in reports)
    failed = [report for report in reports if report.result not in SUCCESSFUL]
    unconfirmed = sum(report.result in UNCONFIRMED for report in reports)
    updated = len(reports) - len(failed) - checked
    parts = []
    if updated or not checked:
        parts.append(f"{updated} of {len(reports)} handset(s) updated"
                     + (f" ({unconfirmed} not confirmed)" if unconfirmed else ""))
    if checked:
        parts.append(f"{checked} of {len(reports)} handset(s) ready to update (dry run: nothing was written)")
    if failed:
        parts.append(f"{len(failed)} failed")
    return "; ".join(parts)


def _unproven(report: Report) -> list[str]:
    """The checks and verifications the handset could not offer: never shown as passed."""
    lines = [f"not available: {check['check']} ({check['detail']})"
             for check in report.checks if check["outcome"] == "not available"]
    unverified = [target for target, how in report.verification.items() if how != "read back"]
    if unverified:
        lines.append(f"not verified by read-back: {', '.join(unverified)} (the handset cannot be read)")
    return lines
