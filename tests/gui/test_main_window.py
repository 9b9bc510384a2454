"""The real window against virtual handsets: open, update, cancel, fail, history."""

from PySide6.QtCore import QItemSelectionModel, Qt

from flasher.fastboot import FastbootDevice

TIMEOUT = 30000


def current_slot(address: str) -> str:
    with FastbootDevice.open(address) as device:
        return device.current_slot()


def select(window, addresses: list[str]) -> None:
    selection = window.table.selectionModel()
    selection.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for address in addresses:
        selection.select(window.model.index(window.model.row_of(address), 0), flags)


def open_and_check(qtbot, window, bench) -> None:
    rows = window.board.rows
    qtbot.waitUntil(lambda: len(rows) == len(bench.addresses) and all(r.serialno for r in rows.values()),
                    timeout=TIMEOUT)
    assert window.open_package(bench.package)
    qtbot.waitUntil(lambda: all(r.compatible for r in rows.values()), timeout=TIMEOUT)


def test_update_two_at_once_and_cancel_one_mid_write(make_bench, make_window, qtbot):
    bench = make_bench(2)
    cancelled, completed = bench.handsets
    cancelled.handset.faults.stall_commands["flash:system_b"] = 1.0  # long enough to cancel mid-write
    completed.handset.faults.stall_commands["flash:system_b"] = 0.2
    window = make_window(bench)
    open_and_check(qtbot, window, bench)
    panel = window.package_panel.fields
    assert panel["Build"].text().startswith("B130") and panel["Product"].text() == "tsuf_zte_ab"
    assert panel["Type"].text() == "full" and "trusted" in panel["Trust"].text()
    assert window.model.index(0, 0).data() == "tsuf_zte_ab"

    select(window, bench.addresses)
    window.update_action.trigger()
    rows = window.board.rows
    qtbot.waitUntil(lambda: all(r.active for r in rows.values()), timeout=TIMEOUT)  # both at once
    qtbot.waitUntil(lambda: rows[cancelled.address].state_text == "writing system_b", timeout=TIMEOUT)
    assert rows[cancelled.address].done > 0  # boot is written; system is under way

    select(window, [cancelled.address])
    qtbot.keyClick(window.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: rows[cancelled.address].state == "cancelled", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: rows[completed.address].state == "done", timeout=TIMEOUT)

    assert current_slot(cancelled.address) == "a"  # the active slot was never touched
    assert current_slot(completed.address) == "b"
    qtbot.waitUntil(lambda: rows[completed.address].build == "B130", timeout=TIMEOUT)  # re-read after the update
    assert rows[cancelled.address].report.result == "CANCELLED"
    assert window.board.done_count == 1 and window.board.failed_count == 0
    assert "1 done" in window.counters.text()

    history = window.history_view
    qtbot.waitUntil(lambda: history.table.rowCount() == 2, timeout=TIMEOUT)
    results = {history.table.item(row, 5).text() for row in range(2)}
    assert results == {"SUCCESS", "CANCELLED"}


def test_a_failure_shows_its_reason_in_the_row_and_the_log(make_bench, make_window, qtbot):
    bench = make_bench(3)
    rolled_back, unverified, fine = bench.handsets
    rolled_back.handset.faults.boot_fails.add("b")
    unverified.handset.faults.discard_flash.add("system_b")
    window = make_window(bench)
    open_and_check(qtbot, window, bench)
    window.update_all_action.trigger()
    rows = window.board.rows
    qtbot.waitUntil(lambda: all(r.finished for r in rows.values()), timeout=TIMEOUT)

    assert rows[fine.address].state == "done"
    assert rows[rolled_back.address].state == "rolled back"
    assert rows[unverified.address].state == "failed"
    assert rows[unverified.address].report.result == "VERIFY_FAILED"
    message_column = 10
    message = window.model.index(window.model.row_of(unverified.address), message_column).data()
    assert "system_b reads back different" in message and "Run the update again" in message
    rolled_message = window.model.index(window.model.row_of(rolled_back.address), message_column).data()
    assert "fell back to slot a" in rolled_message
    assert current_slot(rolled_back.address) == "a" and current_slot(unverified.address) == "a"
    assert window.board.failed_count == 2 and window.board.done_count == 1

    log = window.log_pane
    assert "system_b reads back different" in log.shown_text()
    log.show_device(unverified.address)
    assert "reads back different" in log.shown_text() and rolled_back.handset.serialno not in log.shown_text()
    log.level.setCurrentText("ERROR")
    assert all(" ERROR " in line for line in log.shown_text().splitlines())

    # Every row's full log is one double-click away: the report's own log file.
    select(window, [unverified.address])
    window.log_action.trigger()
    dialog = window.last_log_dialog
    assert str(dialog.path) == rows[unverified.address].report.log_path
    assert "verifying system_b" in dialog.view.toPlainText()
    dialog.close()

    history = window.history_view
    qtbot.waitUntil(lambda: history.table.rowCount() == 3, timeout=TIMEOUT)
    history.result.setCurrentText("VERIFY_FAILED")
    assert history.table.rowCount() == 1 and history.table.item(0, 1).text() == unverified.handset.serialno


def test_every_action_has_a_shortcut_and_every_column_explains_itself(make_bench, make_window, qtbot):
    from app.device_model import COLUMNS
    window = make_window(make_bench(1))
    shortcuts = {action.text(): action.shortcut().toString() for action in window.actions()}
    assert shortcuts["Open package…"] == "Ctrl+O" and shortcuts["Update selected"] == "Ctrl+U"
    assert shortcuts["Cancel selected"] == "Esc"
    assert all(shortcuts.values()) and len(set(shortcuts.values())) == len(shortcuts)
    assert all("(" in action.toolTip() for action in window.actions())  # the tooltip names the keys
    for column, (title, _) in enumerate(COLUMNS):
        assert window.model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole), title


def test_ctrl_u_updates_the_selected_handset(make_bench, make_window, qtbot):
    bench = make_bench(1)
    window = make_window(bench)
    open_and_check(qtbot, window, bench)
    select(window, bench.addresses)
    qtbot.keyClick(window.table, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.board.rows[bench.addresses[0]].state == "done", timeout=TIMEOUT)
