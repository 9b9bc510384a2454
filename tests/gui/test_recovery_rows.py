"""A handset in recovery has a row: its mode in words, why it is not checked, and updates that still work."""

import pytest

from app.device_model import COLUMN
from app.device_row import RECOVERY_NOTE
from app.discovery_scan import StationScan
from flasher.fastboot import FastbootDevice
from flasher.history.store import HistoryStore
from flasher.update.journal import Journal
from flasher.update.session import Station
from flasher.virtual.handset import Mode
from tests.gui.test_main_window import TIMEOUT, select
from tests.support.handsets import RunningHandset, UsbHandsets, small_profile
from tests.support.packages import make_keys, make_package, provision

WAIT = 15.0


class RecoveryBench:
    """One handset on TCP with recovery's ADB beside it, running B120, and a B130 update for it."""

    def __init__(self, folder):
        self.keys = make_keys(folder)
        self.station = Station("gui-test", HistoryStore(folder / "history.sqlite"), folder / "logs",
                               Journal(folder / "journal"))
        self.running = RunningHandset(folder / "handset", small_profile("VH000001",
                                                                       oem_public_key=self.keys.oem_public_pem),
                                      adb=True)
        provision([self.running.handset], make_package(folder, self.keys, build="B120", rollback_index=1),
                  self.keys, self.station)
        self.package = make_package(folder, self.keys, build="B130", rollback_index=5)
        self.address = self.running.address
        self.addresses = [self.address]

    def stop(self) -> None:
        self.running.stop()


@pytest.fixture
def recovery_bench(tmp_path):
    bench = RecoveryBench(tmp_path)
    yield bench
    bench.stop()


def _into_recovery(address: str, handset) -> None:
    """What a user does by holding keys, or what a cut sideload leaves."""
    with FastbootDevice.open(address) as device:
        device.reboot("recovery")
    assert handset.wait_for_mode(Mode.RECOVERY, WAIT)


def _text(window, address: str, column: str) -> str:
    return window.model.index(window.model.row_of(address), COLUMN[column]).data()


def test_a_handset_in_recovery_is_shown_and_a_fastboot_update_takes_it_through_its_bootloader(
        recovery_bench, make_window, qtbot):
    bench, address = recovery_bench, recovery_bench.address
    _into_recovery(address, bench.running.handset)
    window = make_window(bench, scan=StationScan(targets=[address]))
    board = window.board
    qtbot.waitUntil(lambda: address in board.rows and board.rows[address].compat_reason == RECOVERY_NOTE,
                    timeout=TIMEOUT)
    assert _text(window, address, "Mode") == "recovery (ADB)"
    assert _text(window, address, "Message") == RECOVERY_NOTE
    assert "could not identify" not in window.log_pane.shown_text()  # fastboot was not tried on it

    assert window.open_package(bench.package)
    qtbot.waitUntil(lambda: board.updater is not None, timeout=TIMEOUT)
    row = board.rows[address]
    assert row.compatible is None and board.compatible_idle() == []  # station mode leaves it alone
    assert not _text(window, address, "Package").startswith("✗")

    select(window, [address])
    window.update_action.trigger()
    qtbot.waitUntil(lambda: row.state == "done", timeout=TIMEOUT)
    assert "in recovery mode" in window.log_pane.shown_text()  # the session sent it to its bootloader
    qtbot.waitUntil(lambda: row.mode == "fastboot" and row.build == "B130", timeout=TIMEOUT)
    assert _text(window, address, "Message") == row.detail  # the outcome, no longer the note


@pytest.fixture
def usb_in_recovery(tmp_path):
    handsets = UsbHandsets(tmp_path)
    _into_recovery(handsets.address, handsets.handset)
    yield handsets
    handsets.stop()


def test_reboot_to_bootloader_works_from_recovery_over_usb(usb_in_recovery, make_bench, make_window, qtbot):
    address, handset = usb_in_recovery.address, usb_in_recovery.handset
    window = make_window(make_bench(0), scan=StationScan(targets=[]))
    board = window.board
    qtbot.waitUntil(lambda: address in board.rows and board.rows[address].mode == "recovery", timeout=TIMEOUT)
    assert board.rows[address].serialno == handset.serialno and board.rows[address].link == "usb"

    select(window, [address])
    window.reboot_action.trigger()
    assert handset.wait_for_mode(Mode.BOOTLOADER, WAIT)
    row = board.rows[address]
    qtbot.waitUntil(lambda: row.mode == "fastboot" and row.slot == "a", timeout=TIMEOUT)  # asked again
    assert _text(window, address, "Mode") == "fastboot" and _text(window, address, "Message") == ""
    assert "reboot failed" not in window.log_pane.shown_text()
