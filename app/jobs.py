"""Worker threads that hand their results back to the GUI thread.

Device work never runs on the GUI thread. A Job runs a plain function in a
QThreadPool; its outcome travels back through a signal of a QObject that
lives in the GUI thread (a queued connection), so callbacks always run there.
"""

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


@dataclass(frozen=True)
class Outcome:
    value: object = None
    error: BaseException | None = None


class _Relay(QObject):
    finished = Signal(object, object)  # (job, Outcome)


class Job(QRunnable):
    def __init__(self, work: Callable[[], object], relay: _Relay):
        super().__init__()
        self.setAutoDelete(False)  # Python owns it, so a queued job can be taken back
        self.work = work
        self._relay = relay

    def run(self) -> None:
        try:
            outcome = Outcome(self.work())
        except BaseException as error:  # a worker must always report back, or the GUI waits forever
            outcome = Outcome(error=error)
        self._relay.finished.emit(self, outcome)


class Jobs(QObject):
    """A bounded pool; `running` counts jobs started and not yet delivered."""

    def __init__(self, max_threads: int, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, max_threads))
        self._relay = _Relay(self)
        self._relay.finished.connect(self._deliver)
        self._callbacks: dict[Job, Callable[[Outcome], None]] = {}

    @property
    def running(self) -> int:
        return len(self._callbacks)

    def set_max_threads(self, count: int) -> None:
        self.pool.setMaxThreadCount(max(1, count))

    def start(self, work: Callable[[], object], on_done: Callable[[Outcome], None]) -> Job:
        job = Job(work, self._relay)
        self._callbacks[job] = on_done
        self.pool.start(job)
        return job

    def take_back(self, job: Job) -> bool:
        """Remove a job that has not started yet; its callback never runs."""
        if self.pool.tryTake(job):
            self._callbacks.pop(job, None)
            return True
        return False

    def _deliver(self, job: Job, outcome: Outcome) -> None:
        callback = self._callbacks.pop(job, None)
        if callback is not None:
            callback(outcome)

    def wait(self, milliseconds: int = -1) -> bool:
        """Block until every job has run (tests, shutdown after sessions were cancelled)."""
        return self.pool.waitForDone(milliseconds)
