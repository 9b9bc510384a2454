"""The watcher reports each arrival and departure once, on USB and TCP, while it runs."""

import threading
import time
from collections import Counter

from flasher.discovery.found import FoundDevice
from flasher.discovery.network_source import NetworkSource
from flasher.discovery.scanner import Scanner
from flasher.discovery.usb_source import UsbSource
from flasher.discovery.watcher import CHANGED, Change, Watcher, changes_between

from .conftest import free_port

WAIT = 15.0


class _Recorder:
    def __init__(self):
        self.changes = []
        self._changed = threading.Condition()

    def __call__(self, change):
        with self._changed:
            self.changes.append(change)
            self._changed.notify_all()

    def wait_for(self, arrived: bool, serialno: str) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.count(arrived, serialno) > 0, WAIT), self.changes

    def count(self, arrived: bool, serialno: str) -> int:
        return sum(c.arrived == arrived and c.device.serialno == serialno for c in self.changes)


def test_arrivals_and_departures_on_usb_and_tcp_are_reported_once_each(bench):
    bench.usb("VHUSB001")
    port = free_port()
    scanner = Scanner([UsbSource(bench.bus), NetworkSource([f"tcp:127.0.0.1:{port}"], probe_timeout=0.5)])
    watcher = Watcher(scanner.scan, interval=0.2)
    recorder = _Recorder()
    thread = watcher.run(recorder)
    try:
        recorder.wait_for(True, "VHUSB001")  # present at the start
        bench.usb("VHUSB002")
        recorder.wait_for(True, "VHUSB002")
        bench.bus.detach("VHUSB001")
        recorder.wait_for(False, "VHUSB001")
        server = bench.tcp("VHTCP001", port=port)
        recorder.wait_for(True, "VHTCP001")
        server.stop()
        recorder.wait_for(False, "VHTCP001")
        time.sleep(1.0)  # several more polls: nothing may be reported twice
    finally:
        watcher.stop()
        thread.join(WAIT)
    assert not thread.is_alive()
    counts = Counter((c.arrived, c.device.serialno) for c in recorder.changes)
    assert counts == {(True, "VHUSB001"): 1, (True, "VHUSB002"): 1, (False, "VHUSB001"): 1,
                      (True, "VHTCP001"): 1, (False, "VHTCP001"): 1}


def test_changes_between_snapshots():
    a = FoundDevice("usb:A", "usb", "fastboot", "A")
    b = FoundDevice("usb:B", "usb", "fastboot", "B")
    a_in_fastbootd = FoundDevice("usb:A", "usb", "fastbootd", "A")
    changes = changes_between({a.key: a}, {b.key: b})
    assert [(c.arrived, c.device) for c in changes] == [(False, a), (True, b)]
    # Same handset, same address: not a departure and an arrival, one change of mode.
    assert changes_between({a.key: a}, {a.key: a_in_fastbootd}) == [Change(CHANGED, a_in_fastbootd, "fastboot")]
    assert changes_between({a.key: a}, {a.key: a}) == []


def test_the_iterator_ends_on_stop():
    snapshots = iter([[FoundDevice("usb:A", "usb", "fastboot", "A")], []])
    watcher = Watcher(lambda: next(snapshots, []), interval=0.01)
    seen = []
    for change in watcher.changes():
        seen.append((change.arrived, change.device.serialno))
        if len(seen) == 2:
            watcher.stop()
    assert seen == [(True, "A"), (False, "A")]
