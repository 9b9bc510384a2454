"""Arrivals, departures and mode changes, by polling a scanner about once a second.

Polling works the same on every platform and every link (USB hotplug callbacks are
not available everywhere, and networks have none). Snapshots are compared by
`FoundDevice.key`, so each arrival and each departure is reported once. A handset that
keeps its key in another mode (`usb:SERIAL` from fastboot into recovery) has not left:
that is one change of mode.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .found import FoundDevice

POLL_INTERVAL = 1.0

Key = tuple[str, str]


ARRIVED, DEPARTED, CHANGED = "arrived", "departed", "changed"


@dataclass(frozen=True)
class Change:
    event: str
    """ARRIVED, DEPARTED, or CHANGED (same handset and address, another mode)."""
    device: FoundDevice
    """As seen now; for a departure, as last seen."""
    was: str = ""
    """For CHANGED, the mode before."""

    @property
    def arrived(self) -> bool:
        return self.event == ARRIVED


def changes_between(before: dict[Key, FoundDevice], after: dict[Key, FoundDevice]) -> list[Change]:
    departed = [Change(DEPARTED, device) for key, device in before.items() if key not in after]
    arrived = [Change(ARRIVED, device) for key, device in after.items() if key not in before]
    changed = [Change(CHANGED, device, before[key].mode) for key, device in after.items()
               if key in before and before[key].mode != device.mode]
    return departed + arrived + changed


class Watcher:
    """`changes()` yields each change as it is seen, until `stop()` (from any thread).

    The handsets present at the first scan are reported as arrivals.
    """

    def __init__(self, scan: Callable[[], list[FoundDevice]], *, interval: float = POLL_INTERVAL):
        self._scan = scan
        self._interval = interval
        self._stopped = threading.Event()
        self.present: dict[Key, FoundDevice] = {}

    def stop(self) -> None:
        self._stopped.set()

    def changes(self) -> Iterator[Change]:
        while not self._stopped.is_set():
            started = time.monotonic()
            now = {device.key: device for device in self._scan()}
            if self._stopped.is_set():
                return
            found, self.present = changes_between(self.present, now), now
            yield from found
            self._stopped.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def run(self, on_change: Callable[[Change], None]) -> threading.Thread:
        """Call `on_change` for each change from a background thread; `stop()` ends it."""
        def loop() -> None:
            for change in self.changes():
                on_change(change)

        thread = threading.Thread(target=loop, daemon=True, name="tsuf-watcher")
        thread.start()
        return thread
