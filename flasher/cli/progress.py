"""Progress bars on stderr: redrawn in place on a terminal, one summary line otherwise."""

import sys
import threading
import time

_REDRAW_INTERVAL = 0.1


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class ProgressBar:
    """Thread-safe; `update(done, total)` may be called as often as data moves. `detail` (what
    limits the work, say) follows the live line, or is one line of its own off a terminal."""

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
        self._done = 0
        self._total = 0
        self._lock = threading.Lock()

    def update(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = done, total
            now = time.monotonic()
            if self.interactive and now - self._drawn_at >= _REDRAW_INTERVAL:
                self._drawn_at = now
                self.stream.write("\r" + self._line(now))
                self.stream.flush()

    def finish(self, outcome: str = "done") -> None:
        with self._lock:
            line = self._line(time.monotonic(), outcome)
            self.stream.write(("\r" + line + "\n") if self.interactive else line + "\n")
            self.stream.flush()

    def _line(self, now: float, outcome: str | None = None) -> str:
        elapsed = max(now - self._started, 1e-6)
        rate = self._done / elapsed
        if outcome is not None:
            return (f"{self.label}: {outcome}, {human_bytes(self._done)} in {elapsed:.1f} s "
                    f"({human_bytes(rate)}/s)").ljust(self.width + 40)
        fraction = self._done / self._total if self._total else 0.0
        filled = int(fraction * self.width)
        left = (self._total - self._done) / rate if rate > 0 else 0
        return (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} "
                f"{human_bytes(self._done)}/{human_bytes(self._total)} "
                f"{human_bytes(rate)}/s {left:3.0f}s left" + (f" ({self.detail})" if self.detail else ""))
