"""Station mode, the parallel bound, and closing the window while handsets are written."""

from app.handset_tasks import found_at
from tests.gui.test_main_window import TIMEOUT, current_slot, open_and_check, select


def test_station_mode_updates_what_is_plugged_in_and_keeps_results_until_unplugged(make_bench, make_window,
                                                                                   qtbot):
    bench = make_bench(3)
    first, failing, late = bench.handsets
    failing.handset.faults.discard_flash.add("boot_b")
    plugged = [first.address, failing.address]
    window = make_window(bench, scan=lambda busy: [found_at(address) for address in plugged])
    rows = window.board.rows
    qtbot.waitUntil(lambda: len(rows) == 2 and all(r.serialno for r in rows.values()), timeout=TIMEOUT)
    assert window.open_package(bench.package)
    qtbot.waitUntil(lambda: window.station_action.isEnabled(), timeout=TIMEOUT)
    window.station_action.trigger()  # no confirmation per handset: that is the point of station mode
    assert window.board.station_mode

    qtbot.waitUntil(lambda: len(rows) == 2 and all(r.finished for r in rows.values()), timeout=TIMEOUT)
    assert rows[first.address].state == "done" and rows[failing.address].state == "failed"
    plugged.append(late.address)  # a handset plugged in later is found, checked and updated
    qtbot.waitUntil(lambda: late.address in rows and rows[late.address].state == "done", timeout=TIMEOUT)
    assert (window.board.done_count, window.board.failed_count) == (2, 1)
    assert "2 done" in window.counters.text() and "1 failed" in window.counters.text()

    # A finished handset keeps showing its result, and is not updated again, until it is unplugged.
    qtbot.wait(600)
    assert rows[first.address].state == "done" and window.board.done_count == 2
    plugged.remove(first.address)
    qtbot.waitUntil(lambda: first.address not in rows, timeout=TIMEOUT)
    plugged.append(first.address)
    qtbot.waitUntil(lambda: first.address in rows and rows[first.address].compatible is not None, timeout=TIMEOUT)
    assert rows[first.address].build == "B130" and rows[first.address].state == "idle"  # already has it
    qtbot.wait(600)
    assert window.board.done_count == 2


def test_the_parallel_bound_queues_the_rest_and_a_queued_cancel_touches_nothing(make_bench, make_window, qtbot):
    bench = make_bench(2)
    running, waiting = bench.handsets
    running.handset.faults.stall_commands["flash:system_b"] = 0.5
    window = make_window(bench, parallel=1)
    open_and_check(qtbot, window, bench)
    window.update_all_action.trigger()
    rows = window.board.rows
    qtbot.waitUntil(lambda: rows[running.address].state == "writing", timeout=TIMEOUT)
    assert rows[waiting.address].state == "queued"
    select(window, [waiting.address])
    window.cancel_action.trigger()
    assert rows[waiting.address].state == "idle" and rows[waiting.address].report is None
    qtbot.waitUntil(lambda: rows[running.address].state == "done", timeout=TIMEOUT)
    assert current_slot(waiting.address) == "a" and rows[waiting.address].state == "idle"
    assert len(window.board.station.history.query()) == 1


def test_closing_during_writes_asks_then_cancels_safely(make_bench, make_window, qtbot):
    bench = make_bench(2)
    for running in bench.handsets:
        running.handset.faults.stall_commands["flash:system_b"] = 0.5
    window = make_window(bench)
    open_and_check(qtbot, window, bench)
    window.update_all_action.trigger()
    rows = window.board.rows
    qtbot.waitUntil(lambda: all(r.state == "writing" for r in rows.values()), timeout=TIMEOUT)

    questions = []
    window.confirm = lambda title, text: questions.append(title) or False
    window.close()
    assert questions == ["Updates are running"] and window.isVisible() and window.board.busy

    window.confirm = lambda title, text: questions.append(title) or True
    window.close()
    assert window.isVisible()  # still there while the sessions stop: the event loop keeps running
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    assert {r.state for r in rows.values()} == {"cancelled"}
    assert [current_slot(address) for address in bench.addresses] == ["a", "a"]
    assert {report.result for report in window.board.station.history.query()} == {"CANCELLED"}
