"""The window's scan never disturbs a session: it runs all through a sideload over emulated USB."""

import threading

import pytest

from app.discovery_scan import StationScan
from flasher.discovery.usb_source import BUSY_DETAIL, UsbSource
from tests.support.locked import LockedBench


@pytest.fixture
def usb_bench(tmp_path):
    bench = LockedBench(tmp_path, "usb")
    yield bench
    bench.stop()


class _Polling:
    """Calls `scan` back to back on a thread until stopped, keeping what each call listed."""

    def __init__(self, scan):
        self.listings = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(scan,), daemon=True)
        self._thread.start()

    def _run(self, scan) -> None:
        while not self._stop.is_set():
            self.listings.append(scan())
            self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive()


def test_a_scan_during_a_sideload_lists_the_handset_without_opening_it(usb_bench):
    scan = StationScan(targets=[])
    # Serial ports here take about a second a scan; USB is the link under test, so it is polled faster.
    scan.scanner.sources = [source for source in scan.scanner.sources if source.name != "serial"]
    busy = {usb_bench.address}
    polling = _Polling(lambda: scan(busy))
    try:
        report = usb_bench.update(usb_bench.ota())
    finally:
        polling.stop()
    assert report.result == "SUCCESS", report.message
    assert report.path == "sideload"
    assert "sideloading" in usb_bench.states()
    assert len(polling.listings) > 20  # the scans did run all along
    seen = [device for listing in polling.listings for device in listing if device.address == usb_bench.address]
    assert seen and all((device.mode, device.detail) == ("unknown", BUSY_DETAIL) for device in seen)
    [after] = scan(set())  # the session is over: now it is asked
    assert (after.address, after.mode, after.serialno) == (usb_bench.address, "fastboot", "VH000001")


def test_another_programs_scans_during_a_sideload_do_not_break_it(usb_bench):
    """A `tsuf devices --watch` elsewhere knows nothing of the session: it gets the interface only
    between the session's connections, and greets recovery without opening a service."""
    outsider = UsbSource()
    polling = _Polling(outsider.scan)
    try:
        report = usb_bench.update(usb_bench.ota())
    finally:
        polling.stop()
    assert report.result == "SUCCESS", report.message
    modes = {device.mode for listing in polling.listings for device in listing}
    assert modes & {"recovery", "sideload"}  # it did greet recovery while the session was there
