import csv
import io
import sqlite3

import pytest

from flasher.history.codes import Result
from flasher.history.report import Report, new_report_id
from flasher.history.store import _MIGRATIONS, Filter, HistoryError, HistoryStore, write_csv


def _report(serial="VH000001", started="2026-11-26T10:00:00.000Z", result=Result.SUCCESS, **fields):
    report = Report(new_report_id(), "bench-1", serial, product="tsuf_zte_ab", started_at=started,
                    ended_at=started, package_sha256="ab" * 32, **fields)
    report.set_result(result, phase="confirm" if result is not Result.SUCCESS else "")
    return report


def test_reports_round_trip_whole(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite")
    report = _report(durations={"write": 1.5, "verify": 0.5}, bytes_sent=1234, resumed=True)
    store.record(report)
    assert store.query() == [report]


def test_recording_the_same_report_twice_keeps_one(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    report = _report()
    store.record(report)
    store.record(report)
    assert len(store.query()) == 1
    assert store.pending_count() == 1


def test_filters_and_newest_first(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    old = _report(started="2026-11-01T00:00:00.000Z")
    failed = _report(serial="VH000002", started="2026-11-20T00:00:00.000Z", result=Result.VERIFY_FAILED)
    new = _report(started="2026-11-25T00:00:00.000Z")
    for report in (old, failed, new):
        store.record(report)
    assert [r.report_id for r in store.query()] == [new.report_id, failed.report_id, old.report_id]
    assert store.query(Filter(device_serial="VH000002")) == [failed]
    assert store.query(Filter(result="VERIFY_FAILED"))[0].code == 301
    assert store.query(Filter(since="2026-11-10", until="2026-11-21")) == [failed]
    assert len(store.query(Filter(limit=2))) == 2
    assert store.attempts("VH000001", "ab" * 32) == 2


def test_history_survives_reopening(tmp_path):
    HistoryStore(tmp_path / "h.sqlite").record(_report())
    assert len(HistoryStore(tmp_path / "h.sqlite").query()) == 1


def test_a_history_from_a_newer_tsuf_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    HistoryStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="newer TSUF"):
        HistoryStore(path)


def test_a_corrupt_history_is_a_named_error(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="cannot open"):
        HistoryStore(path)


def test_csv_export_has_a_header_and_a_row_per_report(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    report = _report()
    report.message = 'said "hello", then left'
    store.record(report)
    out = io.StringIO()
    write_csv(store.query(), out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("report_id,station_id,device_serial")
    assert '"said ""hello"", then left"' in lines[1]


def test_csv_export_never_hands_a_spreadsheet_a_formula(tmp_path):
    """A handset's serial or a message is text: a spreadsheet opening the export must not run it."""
    store = HistoryStore(tmp_path / "h.sqlite")
    report = _report()
    report.device_serial = '=HYPERLINK("http://x","click")'
    report.message = "-2+3"
    store.record(report)
    out = io.StringIO()
    write_csv(store.query(), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["device_serial"] == "'" + report.device_serial
    assert row["message"] == "'-2+3"
    assert row["result"] == "SUCCESS"


def test_a_history_from_the_first_schema_gains_the_summary_columns(tmp_path):
    """Schema 1 had no duration or bytes_sent columns; opening it fills them from each report."""
    path = tmp_path / "h.sqlite"
    report = _report(durations={"write": 1.25, "verify": 0.5}, bytes_sent=4096)
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[1])
    db.execute("INSERT INTO reports VALUES (?,?,?,?,?,?,?,?,?,?)",
               (report.report_id, report.station_id, report.device_serial, report.product, report.package_sha256,
                report.result, report.code, report.started_at, report.ended_at, report.to_json()))
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = HistoryStore(path)
    (row,) = store.summary_rows()
    assert (row.duration, row.bytes_sent, row.result) == (1.75, 4096, "SUCCESS")
    assert store.query() == [report]
