"""Events from session threads, gathered for the GUI to take in batches. No Qt here.

Sessions emit from their own threads, often thousands of progress events a
second. Posting each one to the GUI would flood its event loop, so workers
only append here under a lock; the window drains the feed on a timer (10 Hz)
and repaints once per batch. Progress is coalesced to the latest figure per
handset; states, log lines and reports are all kept, in order.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flasher.history.report import Report
from flasher.update.events import Event, Finished, LogLine, Progress, StateChanged

# A runaway device must not grow the feed without bound between two drains.
MAX_LINES_PER_BATCH = 5000


@dataclass(frozen=True)
class LogEntry:
    address: str
    level: str
    text: str
    at: float


@dataclass
class Batch:
    states: list[tuple[str, str, str]] = field(default_factory=list)
    """(address, state, detail), in order."""
    progress: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    """address -> (done, total, when): the latest only."""
    lines: list[LogEntry] = field(default_factory=list)
    finished: list[tuple[str, Report]] = field(default_factory=list)
    dropped_lines: int = 0

    def __bool__(self) -> bool:
        return bool(self.states or self.progress or self.lines or self.finished)


class SessionFeed:
    def __init__(self):
        self._lock = threading.Lock()
        self._batch = Batch()

    def emitter(self, address: str) -> Callable[[Event], None]:
        """The `emit` callback for one session; rows are keyed by address, because a
        session's first events carry the address and later ones the serial number."""
        def emit(event: Event) -> None:
            self.put(address, event)
        return emit

    def put(self, address: str, event: Event) -> None:
        with self._lock:
            batch = self._batch
            if isinstance(event, Progress):
                batch.progress[address] = (event.done, event.total, time.monotonic())
            elif isinstance(event, StateChanged):
                batch.states.append((address, event.state, event.detail))
            elif isinstance(event, LogLine):
                self._add_line(LogEntry(address, event.level, event.text, time.time()))
            elif isinstance(event, Finished):
                batch.finished.append((address, event.report))

    def say(self, address: str, level: str, text: str) -> None:
        """A line from the app itself (identification, reboot), shown with the session's."""
        with self._lock:
            self._add_line(LogEntry(address, level, text, time.time()))

    def _add_line(self, entry: LogEntry) -> None:
        if len(self._batch.lines) < MAX_LINES_PER_BATCH:
            self._batch.lines.append(entry)
        else:
            self._batch.dropped_lines += 1

    def drain(self) -> Batch:
        with self._lock:
            batch, self._batch = self._batch, Batch()
        return batch
