"""Progress bars on stderr: redrawn in place on a terminal, one summary line otherwise."""

import contextlib
import sys
import threading
import time

from ..transfer_rate import TransferRate, human_bytes

__all__ = ["ProgressBar", "human_bytes"]

_REDRAW_INTERVAL = 0.1
# A terminal line is redrawn this often while no bytes come, so a stall shows as one.
_TICK_SECONDS = 1.0


class ProgressBar:
    """Thread-safe; `update(done, total)` may be called as often as data moves. `detail` (what
    limits the work, say) follows the live line, or is one line of its own off a terminal.
    The live line has the recent speed and the time left, or says for how long nothing has moved."""

    def __init__(self, label: str, stream=None, width: int = 28, detail: str = ""):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.detail = detail
        self.interactive = self.stream.isatty()
        if detail and not self.interactive:
            self.stream.write(f"{label}: {detail}\n")
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._rate = TransferRate()
        self._lock = threading.Lock()
        self._finished = threading.Event()
        if self.interactive:
            threading.Thread(target=self._tick, name=f"bar {label}", daemon=True).start()

    def update(self, done: int, total: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._rate.add(done, total, now)
            if self.interactive and now - self._drawn_at >= _REDRAW_INTERVAL:
                self._draw(now)

    def finish(self, outcome: str = "done") -> None:
        with self._lock:
            self._finished.set()
            line = self._line(time.monotonic(), outcome)
            self.stream.write(("\r" + line + "\n") if self.interactive else line + "\n")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._finished.wait(_TICK_SECONDS):
            with self._lock:
                if not self._finished.is_set() and self._rate.total:
                    self._draw(time.monotonic())

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        self.stream.write("\r\x1b[2K" + self._line(now))
        self.stream.flush()

    def _line(self, now: float, outcome: str | None = None) -> str:
        done, total = self._rate.done, self._rate.total
        if outcome is not None:
            elapsed = max(now - self._started, 1e-6)
            return (f"{self.label}: {outcome}, {human_bytes(done)} in {elapsed:.1f} s "
                    f"({human_bytes(done / elapsed)}/s)").ljust(self.width + 40)
        fraction = done / total if total else 0.0
        filled = int(fraction * self.width)
        figures = " ".join(self._rate.figures(now))
        return (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
                f"{human_bytes(done)}/{human_bytes(total)} {figures}" + (f" ({self.detail})" if self.detail else ""))


@contextlib.contextmanager
def progress_bar(label: str, detail: str = "", outcome: str = "done"):
    """A bar for the work inside the block: ended with `outcome`, or FAILED when the block raises."""
    bar = ProgressBar(label, detail=detail)
    try:
        yield bar
    except BaseException:
        bar.finish("FAILED")
        raise
    bar.finish(outcome)
