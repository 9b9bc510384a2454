"""The station at a technician's bench: ten rows on a 1280x800 screen, state never cut, stuck told from working."""

from PySide6.QtCore import Qt

from app.device_model import COLUMN, PROGRESS_ROLE, WARNING_COLOUR
from tests.gui.test_main_window import TIMEOUT, open_and_check

# What the progress delegate leaves around the bar's text (see progress_delegate.py).
BAR_MARGINS = 12


def shown_whole(window, row: int, title: str) -> bool:
    """True when the cell's text fits its column: nothing a technician reads there is elided."""
    index = window.model.index(row, COLUMN[title])
    text = index.data(PROGRESS_ROLE)[1] if title == "Progress" else index.data()
    room = window.table.columnWidth(COLUMN[title]) - (BAR_MARGINS if title == "Progress" else 8)
    return window.table.fontMetrics().horizontalAdvance(text or "") <= room


def test_ten_rows_fit_at_1280x800_and_state_and_progress_are_never_cut(make_bench, make_window, qtbot):
    bench = make_bench(2)
    stalled, working = bench.handsets
    stalled.handset.faults.stall_commands["flash:system_b"] = 10.0  # all of system sent, then silence
    working.handset.faults.stall_commands["flash:system_b"] = 0.5
    window = make_window(bench)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.table.viewport().height() > 0, timeout=TIMEOUT)
    row_height = window.table.verticalHeader().defaultSectionSize()
    assert window.table.viewport().height() >= 10 * row_height  # ten handsets without scrolling
    open_and_check(qtbot, window, bench)
    window.update_all_action.trigger()

    rows = window.board.rows
    seen = set()

    def check_cells() -> bool:
        for number in range(window.model.rowCount()):
            assert shown_whole(window, number, "State"), window.model.index(number, COLUMN["State"]).data()
            assert shown_whole(window, number, "Progress"), window.model.index(number, COLUMN["Progress"]).data()
            seen.add(rows[window.model.address_at(number)].state)
        return rows[stalled.address].stalled_for() is not None and rows[working.address].state == "done"

    qtbot.waitUntil(check_cells, timeout=TIMEOUT * 2)
    assert {"writing", "done"} <= seen
    qtbot.waitUntil(lambda: rows[stalled.address].state == "done", timeout=TIMEOUT)


def test_a_stalled_handset_reads_as_waiting_in_a_warning_colour_then_working_again(make_bench, make_window, qtbot):
    bench = make_bench(1)
    running = bench.handsets[0]
    running.handset.faults.stall_commands["flash:system_b"] = 8.0  # stops answering for a while, then goes on
    window = make_window(bench)
    open_and_check(qtbot, window, bench)
    window.update_all_action.trigger()
    row = window.board.rows[running.address]
    state = window.model.index(0, COLUMN["State"])
    qtbot.waitUntil(lambda: row.state == "writing" and row.detail.startswith("system"), timeout=TIMEOUT)
    # The row repaints by itself while no event comes: the board's refresh, not a new progress figure.
    qtbot.waitUntil(lambda: str(state.data()).startswith("waiting for the handset ("), timeout=TIMEOUT)
    assert state.data(Qt.ItemDataRole.ForegroundRole).color().name() == WARNING_COLOUR
    assert "stalled" in state.model().index(0, COLUMN["Progress"]).data(PROGRESS_ROLE)[1]
    assert "left" not in state.model().index(0, COLUMN["Progress"]).data(PROGRESS_ROLE)[1]
    assert "no byte has moved" in state.data(Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: row.state == "done", timeout=TIMEOUT)
    assert not str(state.data()).startswith("waiting")
    package = window.model.index(0, COLUMN["Package"])
    qtbot.waitUntil(lambda: package.data() == "✓ has it", timeout=TIMEOUT)  # it runs the package's build now
    battery = window.model.index(0, COLUMN["Battery"])
    assert battery.data().endswith(" %") and " V: about " in battery.data(Qt.ItemDataRole.ToolTipRole)


def test_the_log_folds_away_and_comes_back_for_a_row(make_bench, make_window, qtbot):
    bench = make_bench(1)
    window = make_window(bench)
    qtbot.waitUntil(lambda: len(window.board.rows) == 1, timeout=TIMEOUT)
    window.log_shown_action.trigger()
    assert not window.tabs.isVisible() and not window.log_shown_action.isChecked()
    window.show_row_log(bench.addresses[0])  # double-click on a row without a finished attempt
    assert window.tabs.isVisible() and window.log_shown_action.isChecked()


def test_opening_the_history_gives_it_room_and_the_log_stays_small(make_bench, make_window, qtbot):
    bench = make_bench(1)
    window = make_window(bench)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.tabs.height() > 0, timeout=TIMEOUT)
    qtbot.wait(100)
    log_height = window.tabs.height()
    window.tabs.setCurrentWidget(window.history_view)
    qtbot.waitUntil(lambda: window.tabs.height() > log_height + 100, timeout=TIMEOUT)


def test_the_status_bar_message_fits_beside_the_counters_at_1280(make_bench, make_window, qtbot):
    bench = make_bench(1)
    window = make_window(bench, demo=True)
    window.resize(1280, 800)
    open_and_check(qtbot, window, bench)
    bar = window.statusBar()
    message = bar.currentMessage()
    assert message.startswith("Demo:")
    room = bar.width() - window.activity.width() - window.counters.width() - 40
    assert bar.fontMetrics().horizontalAdvance(message) <= room
