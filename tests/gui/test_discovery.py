"""Without --demo the window finds handsets by scanning, and a handset that leaves loses its row."""

from app.board import Board
from app.discovery_scan import StationScan
from app.main_window import MainWindow
from flasher.update.session import Options
from tests.gui.test_main_window import TIMEOUT, select


def test_scanned_handsets_come_and_go(make_bench, qtbot):
    bench = make_bench(2)
    kept, leaving = bench.handsets
    scan = StationScan(targets=bench.addresses)
    board = Board(bench.station, bench.keys.trust_store, scan, options=Options(return_timeout=20),
                  scan_interval_ms=200)
    window = MainWindow(board)
    qtbot.addWidget(window)
    window.show()
    board.start()
    qtbot.waitUntil(lambda: len(board.rows) == 2 and all(r.slot for r in board.rows.values()), timeout=TIMEOUT)
    assert {row.link for row in board.rows.values()} == {"tcp"}
    assert board.rows[kept.address].product == "tsuf_zte_ab" and board.rows[kept.address].slot == "a"

    leaving.stop()
    qtbot.waitUntil(lambda: leaving.address not in board.rows, timeout=TIMEOUT)
    assert kept.address in board.rows
    window.close()


def test_reboot_to_bootloader_asks_first_and_runs_off_the_gui_thread(make_bench, make_window, qtbot):
    bench = make_bench(1)
    window = make_window(bench)
    (address,) = bench.addresses
    qtbot.waitUntil(lambda: address in window.board.rows and bool(window.board.rows[address].serialno),
                    timeout=TIMEOUT)
    select(window, [address])
    asked = []
    window.confirm = lambda title, text: asked.append(title) or False
    window.reboot_action.trigger()
    assert asked == ["Reboot to bootloader"]
    handset = bench.handsets[0].handset
    modes = []
    set_mode = handset._set_mode
    handset._set_mode = lambda mode: modes.append(mode.value) or set_mode(mode)
    window.confirm = lambda title, text: True
    window.reboot_action.trigger()
    qtbot.waitUntil(lambda: "rebooting to the bootloader" in window.log_pane.shown_text(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: modes[-2:] == ["rebooting", "bootloader"], timeout=TIMEOUT)
    assert "reboot failed" not in window.log_pane.shown_text()
