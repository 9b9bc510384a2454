"""The lab's shared history on a real PostgreSQL server: schema, delivery exactly once, the same answers as SQLite."""

import sqlite3
import time
from contextlib import closing

import psycopg
import pytest

from flasher.history.backend import DeliveryFailed, EveryTarget, HttpBackend, OutboxSender, deliver_due
from flasher.history.codes import Result
from flasher.history.postgres import SCHEMA_VERSION, HistoryUnreachable, PostgresHistory, redacted
from flasher.history.query import Filter, HistoryError
from flasher.history.store import HistoryStore
from flasher.settings import Settings
from tests.history.test_store import _report
from tests.support.report_server import ReportServer


def _lab_reports() -> list:
    """Two stations, two products, three days, successes and failures."""
    reports = []
    for number, (station, product, day, result) in enumerate([
            ("lab-a", "tsuf_zte_ab", "2026-11-20", Result.SUCCESS),
            ("lab-a", "tsuf_zte_ab", "2026-11-20", Result.VERIFY_FAILED),
            ("lab-b", "tsuf_zte_ab", "2026-11-21", Result.SUCCESS),
            ("lab-b", "other_phone", "2026-11-21", Result.LINK_LOST),
            ("lab-b", "other_phone", "2026-11-22", Result.SUCCESS),
            ("lab-a", "other_phone", "2026-11-22", Result.DRY_RUN)]):
        report = _report(serial=f"VH{number:06d}", started=f"{day}T10:{number:02d}:00.000Z", result=result,
                         durations={"write": 2.0 + number, "verify": 0.5}, bytes_sent=(number + 1) << 20)
        report.station_id, report.product = station, product
        reports.append(report)
    return reports


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_tsuf_creates_the_schema_once_with_the_columns_of_the_station_store(shared_url, tmp_path):
    first, second = PostgresHistory(shared_url), PostgresHistory(shared_url)
    assert first.schema_version() == second.schema_version() == SCHEMA_VERSION
    with psycopg.connect(shared_url) as db:
        assert db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        columns = [name for (name,) in db.execute("SELECT column_name FROM information_schema.columns "
                                                  "WHERE table_name = 'reports' ORDER BY ordinal_position")]
    HistoryStore(tmp_path / "h.sqlite").close()
    with closing(sqlite3.connect(tmp_path / "h.sqlite")) as local:
        assert columns == [row[1] for row in local.execute("PRAGMA table_info(reports)")]
    first.close()
    second.close()


def test_a_database_from_a_newer_tsuf_is_refused_and_left_alone(shared_url):
    assert PostgresHistory(shared_url).schema_version() == SCHEMA_VERSION
    with psycopg.connect(shared_url, autocommit=True) as db:
        db.execute("INSERT INTO schema_version (version) VALUES (99)")
    history = PostgresHistory(shared_url)
    with pytest.raises(HistoryError, match="newer TSUF") as refused:
        history.query()
    assert refused.value.hint == "Update TSUF on this station."
    with pytest.raises(DeliveryFailed, match="newer TSUF"):
        history.send(_report())
    with psycopg.connect(shared_url) as db:
        assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 0


def test_sqlite_and_postgres_answer_every_filter_alike(shared_url, tmp_path):
    local, shared = HistoryStore(tmp_path / "h.sqlite"), PostgresHistory(shared_url)
    for report in _lab_reports():
        local.record(report)
        shared.send(report)
    filters = [Filter(), Filter(station_id="lab-b"), Filter(product="other_phone"), Filter(result="SUCCESS"),
               Filter(since="2026-11-21"), Filter(until="2026-11-21"), Filter(since="2026-11-21", until="2026-11-22"),
               Filter(station_id="lab-a", product="tsuf_zte_ab", result="VERIFY_FAILED"), Filter(limit=2),
               Filter(device_serial="VH000003"), Filter(station_id="nobody")]
    for where in filters:
        assert shared.query(where) == local.query(where), where
        assert shared.summary_rows(where) == local.summary_rows(where), where
    assert [r.station_id for r in shared.query(Filter(product="other_phone"))] == ["lab-a", "lab-b", "lab-b"]
    row = shared.summary_rows(Filter(device_serial="VH000003"))[0]
    assert (row.duration, row.bytes_sent, row.code) == (5.5, 4 << 20, Result.LINK_LOST.code)


def test_a_report_delivered_twice_is_kept_once(shared_url, tmp_path):
    store, shared = HistoryStore(tmp_path / "h.sqlite"), PostgresHistory(shared_url)
    report = _report()
    store.record(report)
    shared.send(report)  # as if the station died before it could mark the report delivered
    assert deliver_due(store, shared, now=0).delivered == 1
    shared.send(report)
    assert shared.query() == [report]
    assert store.pending_count() == 0


def test_reports_wait_while_the_database_is_down_and_arrive_once_it_is_back(own_postgres, tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    shared = PostgresHistory(own_postgres.url(), timeout=2)
    store.record(_report(started="2026-11-20T09:00:00.000Z"))
    assert deliver_due(store, shared, now=0).delivered == 1  # connected, then the server goes away
    own_postgres.stop()
    waiting = [_report(started=f"2026-11-20T10:0{n}:00.000Z") for n in range(3)]
    for report in waiting:
        store.record(report)
    outcome = deliver_due(store, shared, now=1)
    assert outcome.failed == 1 and "cannot reach the shared history" in outcome.last_error
    assert own_postgres.password not in outcome.last_error
    assert store.pending_count() == 3
    own_postgres.start()
    assert deliver_due(store, shared, now=10**10).delivered == 3
    assert len(shared.query()) == 4 and store.pending_count() == 0


def test_the_background_sender_reconnects_after_a_restart(own_postgres, tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    shared = PostgresHistory(own_postgres.url(), timeout=2)
    sender = OutboxSender(store, shared, interval=0.2).start()
    try:
        store.record(_report())
        sender.kick()
        _wait_for(lambda: store.pending_count() == 0)
        own_postgres.stop()
        own_postgres.start()  # the sender's connection is now dead; the next send must not fail for that
        store.record(_report())
        sender.kick()
        _wait_for(lambda: store.pending_count() == 0)
    finally:
        sender.stop()
    assert len(shared.query()) == 2


def test_a_station_with_both_targets_delivers_to_each_once(shared_url, tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    report = _report()
    store.record(report)
    with ReportServer(fail_first=1) as server:
        both = EveryTarget([PostgresHistory(shared_url), HttpBackend(server.url)])
        assert deliver_due(store, both, now=0).failed == 1  # the database has it; the HTTP backend failed
        assert deliver_due(store, both, now=10**10).delivered == 1  # sent to both again
    assert list(server.reports) == [report.report_id]
    assert PostgresHistory(shared_url).query() == [report]


def test_the_password_stays_out_of_errors_and_listings(postgres_server):
    wrong = postgres_server.url(password="not-the-Secret-42")
    with pytest.raises(HistoryUnreachable) as refused:
        PostgresHistory(wrong).query()
    assert "password authentication failed" in str(refused.value)
    assert "not-the-Secret-42" not in str(refused.value) + refused.value.hint
    settings = Settings(history_url=postgres_server.url())
    assert postgres_server.password not in str(settings.to_dict())
    assert settings.to_dict()["history_url"] == f"postgresql://tsuf:***@127.0.0.1:{postgres_server.port}/postgres"
    assert redacted("postgres://db.lab/tsuf?password=p%40ss&sslmode=require") == \
        "postgres://db.lab/tsuf?password=***&sslmode=require"


def test_a_url_that_is_not_postgres_is_refused_without_connecting():
    with pytest.raises(HistoryError, match="not a PostgreSQL URL") as refused:
        PostgresHistory("mysql://tsuf:hunter2@db/tsuf")
    assert "hunter2" not in str(refused.value)
    with pytest.raises(HistoryError, match="not a valid PostgreSQL URL"):
        PostgresHistory("postgresql://db/tsuf?no_such_option=1")


def test_settings_deliver_to_the_shared_history_and_the_http_backend(postgres_server):
    assert isinstance(Settings(history_url=postgres_server.url()).backend(), PostgresHistory)
    both = Settings(history_url=postgres_server.url(), backend_url="http://127.0.0.1:9/reports").backend()
    assert [type(target) for target in both.targets] == [HttpBackend, PostgresHistory]
    assert Settings().backend() is None and Settings().shared_history() is None
