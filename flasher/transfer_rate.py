"""How fast bytes move to a handset, how long is left, and whether they stopped moving.

Shared by the desktop app's rows and the command line's bars, so both tell a stuck
handset from a working one the same way: the speed is measured up to now (it decays
while no bytes move), the time left comes from that recent speed, and once no byte has
moved for `STALL_AFTER` seconds the figures give way to "stalled 12 s".
"""

import time
from collections import deque

# Seconds of samples the speed is measured over.
SPEED_WINDOW = 3.0
# Seconds without a byte moving before a transfer reads as stalled: longer than a
# bootloader's pause between chunks, shorter than a technician's patience.
STALL_AFTER = 4.0


class TransferRate:
    """Progress samples of one transfer; every reading takes `now` (time.monotonic() by default)."""

    def __init__(self):
        self.samples: deque[tuple[float, int]] = deque(maxlen=256)
        self.done = 0
        self.total = 0
        self.moved_at: float | None = None

    def clear(self) -> None:
        self.samples.clear()
        self.done = self.total = 0
        self.moved_at = None

    def add(self, done: int, total: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.moved_at is None or done != self.done:
            self.moved_at = now
        self.done, self.total = done, total
        self.samples.append((now, done))

    def speed(self, now: float | None = None) -> float:
        """Bytes per second over the last few seconds up to now: 0 once nothing has moved for a while."""
        if not self.samples:
            return 0.0
        now = time.monotonic() if now is None else now
        base_time, base_done = self.samples[0]
        for sample_time, sample_done in self.samples:
            if sample_time > now - SPEED_WINDOW:
                break
            base_time, base_done = sample_time, sample_done
        elapsed = now - base_time
        return max(0, self.done - base_done) / elapsed if elapsed > 0 else 0.0

    def seconds_left(self, now: float | None = None) -> float | None:
        """None when it cannot be told: no speed yet, or every byte sent and the handset still at work."""
        speed = self.speed(now)
        if speed <= 0 or self.total <= 0 or self.done >= self.total:
            return None
        return (self.total - self.done) / speed

    def stalled_for(self, now: float | None = None) -> float | None:
        """Seconds since the last byte moved, once that is `STALL_AFTER` or more; else None."""
        if self.moved_at is None:
            return None
        now = time.monotonic() if now is None else now
        waited = now - self.moved_at
        return waited if waited >= STALL_AFTER else None

    def figures(self, now: float | None = None) -> list[str]:
        """Speed and time left, or for how long no byte has moved."""
        now = time.monotonic() if now is None else now
        stalled = self.stalled_for(now)
        if stalled is not None:
            return [f"stalled {human_duration(stalled)}"]
        parts = []
        speed = self.speed(now)
        if speed > 0:
            parts.append(f"{human_bytes(speed)}/s")
        left = self.seconds_left(now)
        if left is not None:
            parts.append("<1 s left" if left < 0.5 else f"{human_duration(left)} left")
        elif self.total and self.done >= self.total:
            parts.append("all sent")
        return parts


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def human_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
