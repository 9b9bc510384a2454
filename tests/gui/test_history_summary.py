"""The history view across stations and its lab summary: filters, the chart, the lab's PostgreSQL history."""

import socket

import pytest

from app.history_view import HistoryView
from app.summary_chart import SUCCESS_COLOUR
from flasher.history.codes import Result
from flasher.history.postgres import PostgresHistory
from flasher.history.report import utc_now
from flasher.history.store import HistoryStore
from flasher.settings import Settings
from tests.history.test_store import _report
from tests.support.postgres import PostgresServer

MiB = 1 << 20


@pytest.fixture(scope="module")
def postgres_server():
    server = PostgresServer()
    yield server
    server.close()


def _attempt(station, day, result=Result.SUCCESS, product="tsuf_zte_ab", seconds=20.0):
    report = _report(started=f"{day}T09:30:00.000Z", result=result, durations={"write": seconds},
                     bytes_sent=int(seconds * 8 * MiB))
    report.station_id, report.product = station, product
    return report


def _lab() -> list:
    return [_attempt("lab-a", "2026-11-20"), _attempt("lab-a", "2026-11-20", Result.VERIFY_FAILED, seconds=5),
            _attempt("lab-b", "2026-11-21", seconds=40), _attempt("lab-b", "2026-11-23", Result.LINK_LOST),
            _attempt("lab-b", "2026-11-23", product="other_phone"), _attempt("lab-a", "2026-11-24")]


def _view(qtbot, history, settings=None) -> HistoryView:
    view = HistoryView(history, settings)
    qtbot.addWidget(view)
    view.resize(1100, 420)
    view.show()
    return view


def test_the_summary_tab_shows_the_figures_and_the_chart(qtbot, tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    for report in _lab():
        store.record(report)
    view = _view(qtbot, store)
    view.pages.setCurrentWidget(view.summary)
    summary = view.summary
    assert "<b>6</b> attempt(s) on 2 station(s): <b>66.7%</b> succeeded" in summary.headline.text()
    groups = [[summary.groups.item(row, column).text() if summary.groups.item(row, column) else ""
               for column in range(3)] for row in range(summary.groups.rowCount())]
    assert groups == [["By product", "", ""], ["tsuf_zte_ab", "5", "60.0%"], ["other_phone", "1", "100.0%"],
                      ["By station", "", ""], ["lab-a", "3", "66.7%"], ["lab-b", "3", "66.7%"]]
    assert [summary.failures.item(row, 1).text() for row in range(2)] == ["LINK_LOST", "VERIFY_FAILED"]
    chart = summary.chart
    assert [day for day, _ in chart.slots] == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23",
                                                "2026-11-24"]
    assert chart.slots[2][1] is None  # nobody worked that day: an empty slot, not a hidden one
    assert chart.describe(0) == "2026-11-20: 2 attempt(s), 1 succeeded (50%), throughput 8.0 MiB/s"
    assert chart.throughput_top == 10
    image, area = chart.grab().toImage(), chart.plot_area()
    slot = area.width() / 5
    for index, rate in ((0, 0.5), (1, 1.0)):  # 11-20 at 50 %, 11-21 at 100 %, each in the middle of its slot
        dot = image.pixelColor(round(area.left() + (index + 0.5) * slot), round(area.bottom() - rate * area.height()))
        assert dot.name() == SUCCESS_COLOUR.name()

    view.station.setText("lab-b")  # the summary follows the filter
    assert "<b>3</b> attempt(s) on 1 station(s)" in summary.headline.text()
    view.result.setCurrentText("SUCCESS")
    view.pages.setCurrentWidget(view.table)
    assert [view.table.item(row, 7).text() for row in range(view.table.rowCount())] == ["lab-b", "lab-b"]


def test_the_period_filter_keeps_recent_attempts(qtbot, tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(_attempt("lab-a", "2020-01-01"))
    recent = _report(started=utc_now())
    store.record(recent)
    view = _view(qtbot, store)
    assert view.table.rowCount() == 2
    view.period.setCurrentText("last 7 days")
    assert view.table.rowCount() == 1 and view.reports == [recent]


def test_the_view_reads_the_lab_history_across_stations(qtbot, tmp_path, postgres_server):
    url = postgres_server.create_database("gui_lab")
    shared = PostgresHistory(url)
    for report in _lab():
        shared.send(report)
    own = HistoryStore(tmp_path / "h.sqlite")
    own.record(_attempt("this-station", "2026-11-25"))
    view = _view(qtbot, own, Settings(history_url=url))
    qtbot.waitUntil(lambda: view.table.rowCount() == 6, timeout=10000)
    assert {view.table.item(row, 7).text() for row in range(6)} == {"lab-a", "lab-b"}
    assert view.source.text() == f"Lab history: postgresql://tsuf:***@127.0.0.1:{postgres_server.port}/gui_lab"
    view.station.setText("lab-a")
    qtbot.waitUntil(lambda: view.table.rowCount() == 3, timeout=10000)
    view.pages.setCurrentWidget(view.summary)
    qtbot.waitUntil(lambda: view.summary_shown is not None and view.summary_shown.total.attempts == 3,
                    timeout=10000)
    assert view.export_csv(tmp_path / "lab.csv") == 3
    assert not view.notice.isVisible()


def test_an_unreachable_lab_history_falls_back_to_the_station_s_own(qtbot, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again: nothing listens there
    own = HistoryStore(tmp_path / "h.sqlite")
    own.record(_attempt("this-station", "2026-11-25"))
    view = _view(qtbot, own, Settings(history_url=f"postgresql://tsuf:Secret-9@127.0.0.1:{port}/lab"))
    qtbot.waitUntil(view.notice.isVisible, timeout=15000)
    assert "cannot reach the shared history" in view.notice.text() and "Secret-9" not in view.notice.text()
    assert view.table.rowCount() == 1 and view.table.item(0, 7).text() == "this-station"
    assert view.source.text().startswith("This station's history")


def test_a_bad_lab_history_url_is_shown_not_fatal(qtbot, tmp_path):
    view = _view(qtbot, HistoryStore(tmp_path / "h.sqlite"), Settings(history_url="mysql://db/lab"))
    assert view.shared is None and "not a PostgreSQL URL" in view.notice.text() and view.notice.isVisible()
