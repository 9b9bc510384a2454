"""Reports reach the backend while the app runs; a bad URL is explained, not fatal."""

import time

from app.report_delivery import ReportDelivery
from flasher.history.report import Report, new_report_id, utc_now
from flasher.history.store import HistoryStore
from flasher.settings import Settings
from flasher.update.journal import Journal
from flasher.update.session import Station
from tests.support.report_server import ReportServer


def station(tmp_path) -> Station:
    return Station("gui-test", HistoryStore(tmp_path / "history.sqlite"), tmp_path / "logs", Journal(tmp_path / "j"))


def record(where: Station) -> Report:
    report = Report(new_report_id(), "gui-test", "VH000001", started_at=utc_now(), ended_at=utc_now())
    where.history.record(report)
    where.on_recorded(report)
    return report


def test_recorded_reports_are_sent_and_a_new_url_takes_over(tmp_path):
    where = station(tmp_path)
    delivery = ReportDelivery(where)
    with ReportServer() as first, ReportServer() as second:
        delivery.configure(Settings(backend_url=first.url))
        one = record(where)
        deadline = time.monotonic() + 10
        while one.report_id not in first.reports and time.monotonic() < deadline:
            time.sleep(0.02)
        assert one.report_id in first.reports
        delivery.configure(Settings(backend_url=second.url))
        two = record(where)
        deadline = time.monotonic() + 10
        while two.report_id not in second.reports and time.monotonic() < deadline:
            time.sleep(0.02)
        assert two.report_id in second.reports and two.report_id not in first.reports
        delivery.stop()
    assert delivery.waiting == 0


def test_a_bad_backend_url_is_explained_and_sends_nothing(tmp_path):
    where = station(tmp_path)
    delivery = ReportDelivery(where)
    delivery.configure(Settings(backend_url="ftp://reports"))
    assert delivery.sender is None and "not an http(s) URL" in delivery.problem
    delivery.configure(Settings(backend_url=""))
    assert delivery.sender is None and delivery.problem == ""
