"""The local history: every report, kept in SQLite before anything is sent anywhere.

Reports are stored whole (JSON) with the columns people filter on beside
them. The outbox table holds what a backend has not acknowledged yet, so a
station that is offline for a week loses nothing. A deliverer claims a report
(a lease) before sending it, so two deliverers at once never both send it.
"""

import csv
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from ..atomic import make_private, open_private, private_folder
from ..device_text import printable
from .codes import Result
from .query import (REPORT_COLUMNS, SUMMARY_COLUMNS, Filter, HistoryError, SummaryRow, limit_sql, report_row,
                    where_sql)
from .report import Report

SCHEMA_VERSION = 3
_MIGRATIONS = {
    1: """
        CREATE TABLE reports (
            report_id TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            device_serial TEXT NOT NULL,
            product TEXT NOT NULL,
            package_sha256 TEXT NOT NULL,
            result TEXT NOT NULL,
            code INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX reports_by_device ON reports (device_serial, started_at);
        CREATE INDEX reports_by_time ON reports (started_at);
        CREATE TABLE outbox (
            report_id TEXT PRIMARY KEY REFERENCES reports (report_id),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT ''
        );
    """,
    # The lab summary reads these without opening each report's body.
    2: """
        ALTER TABLE reports ADD COLUMN duration REAL NOT NULL DEFAULT 0;
        ALTER TABLE reports ADD COLUMN bytes_sent INTEGER NOT NULL DEFAULT 0;
        UPDATE reports SET
            duration = (SELECT COALESCE(ROUND(SUM(value), 3), 0) FROM json_each(reports.body, '$.durations')),
            bytes_sent = COALESCE(json_extract(body, '$.bytes_sent'), 0);
    """,
    # Delivery leases: who is sending a report, and until when that claim holds.
    3: """
        ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE outbox ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
    """,
}

CSV_COLUMNS = ("report_id", "station_id", "device_serial", "address", "product", "from_build", "to_build",
               "package_type", "path", "result", "code", "phase", "attempt", "resumed",
               "started_at", "ended_at", "bytes_sent", "message")


class HistoryStore:
    """A station's own history (a HistoryReader) and its outbox."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.location = str(self.path)
        self._lock = threading.Lock()
        try:
            _make_private_database(self.path)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path}: cannot open the history ({exc})") from None
        except OSError as exc:
            raise HistoryError(f"{self.path}: cannot open the history ({exc.strerror})",
                               hint="Check that this user owns TSUF's data folder.") from None

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise HistoryError(f"{self.path} was written by a newer TSUF (schema {version})",
                               hint="Update TSUF on this station.")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            # One script, one transaction: a half-applied migration never persists.
            self._db.executescript(f"BEGIN IMMEDIATE; {_MIGRATIONS[step]}; PRAGMA user_version={step}; COMMIT;")

    def _transaction(self):
        return _Transaction(self._db, self._lock)

    def record(self, report: Report, *, queue_for_backend: bool = True) -> None:
        """Store a finished report; recording the same finished report twice keeps the first.
        A report stored while IN_PROGRESS is replaced by its final form."""
        with self._transaction():
            inserted = self._db.execute(
                _INSERT + " ON CONFLICT (report_id) DO UPDATE SET "
                "device_serial = excluded.device_serial, product = excluded.product, result = excluded.result, "
                "code = excluded.code, ended_at = excluded.ended_at, duration = excluded.duration, "
                "bytes_sent = excluded.bytes_sent, body = excluded.body WHERE reports.result = ?",
                (*report_row(report), Result.IN_PROGRESS.name)).rowcount
            if inserted and queue_for_backend and report.result != Result.IN_PROGRESS.name:
                self._db.execute("INSERT OR IGNORE INTO outbox (report_id) VALUES (?)", (report.report_id,))

    def close_interrupted(self, device_serial: str, *, station_id: str) -> list[Report]:
        """Attempts of this station on this handset still IN_PROGRESS: their host stopped
        mid-way (killed, crashed, power cut). They are closed as HOST_INTERRUPTED."""
        closed = []
        for report in self.query(Filter(device_serial=device_serial, station_id=station_id,
                                        result=Result.IN_PROGRESS.name)):
            report.set_result(Result.HOST_INTERRUPTED, phase=report.phase,
                              message="the station stopped during this attempt; the next attempt resumed or "
                                      "restarted it")
            report.ended_at = report.ended_at or report.started_at
            self.record(report)
            closed.append(report)
        return closed

    def query(self, where: Filter = Filter()) -> list[Report]:
        clause, values = where_sql(where, "?")
        sql = f"SELECT body FROM reports{clause} ORDER BY started_at DESC, rowid DESC{limit_sql(where)}"
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [Report.from_json(body) for (body,) in rows]

    def summary_rows(self, where: Filter = Filter()) -> list[SummaryRow]:
        clause, values = where_sql(where, "?")
        sql = f"SELECT {SUMMARY_COLUMNS} FROM reports{clause} ORDER BY started_at DESC, rowid DESC{limit_sql(where)}"
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [SummaryRow(*row) for row in rows]

    def attempts(self, device_serial: str, package_sha256: str) -> int:
        """How many attempts this handset has made with this package."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM reports WHERE device_serial = ? AND package_sha256 = ?",
                (device_serial, package_sha256)).fetchone()
        return count

    # -- the outbox ----------------------------------------------------------

    def due_for_delivery(self, now: float, limit: int = 100, *, ignore_backoff: bool = False
                         ) -> list[tuple[Report, int]]:
        """Reports the backend has not acknowledged whose retry time has come (any time, with
        `ignore_backoff`) and that nobody holds a live claim on, with their attempt counts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT r.body, o.attempts FROM outbox o JOIN reports r USING (report_id) "
                "WHERE (o.next_attempt <= ? OR ?) AND o.lease_until <= ? ORDER BY r.started_at LIMIT ?",
                (now, ignore_backoff, now, limit)).fetchall()
        return [(Report.from_json(body), attempts) for body, attempts in rows]

    def pending_count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return count

    def claim(self, report_id: str, deliverer: str, now: float, lease_until: float) -> bool:
        """Take the right to send one report until `lease_until`; False if another deliverer holds
        a live claim on it or it left the outbox meanwhile. One UPDATE, so two claimers never both win."""
        with self._transaction():
            return self._db.execute(
                "UPDATE outbox SET claimed_by = ?, lease_until = ? WHERE report_id = ? AND lease_until <= ?",
                (deliverer, lease_until, report_id, now)).rowcount == 1

    def delivered(self, report_id: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM outbox WHERE report_id = ?", (report_id,))

    def delivery_failed(self, report_id: str, deliverer: str, error: str, next_attempt: float) -> None:
        """Count the failure and free the claim, unless the lease ran out and another deliverer took it."""
        with self._transaction():
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?, claimed_by = '', "
                "lease_until = 0 WHERE report_id = ? AND claimed_by = ?", (next_attempt, error[:500], report_id,
                                                                            deliverer))

    def release(self, report_id: str, deliverer: str) -> None:
        """Free a claim without counting a failure (the deliverer was stopped mid-send)."""
        with self._transaction():
            self._db.execute("UPDATE outbox SET claimed_by = '', lease_until = 0 WHERE report_id = ? AND claimed_by = ?",
                             (report_id, deliverer))


def _make_private_database(path: Path) -> None:
    """Create the database owner-only before SQLite does (it would use 0644); SQLite gives its
    -wal and -shm files the database's mode. Files an older TSUF left open are tightened."""
    private_folder(path.parent)
    os.close(open_private(path, os.O_RDWR))
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            make_private(companion)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(reports: Iterable[Report], out: TextIO) -> None:
    """Reports as CSV, one line each: control characters (a device's, say) are written as
    escapes, so the CSV is safe to print on a terminal, and text a spreadsheet would run
    as a formula (a serial of `=HYPERLINK(...)`) starts with a quote; `--json` keeps every
    string exact."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        data = report.to_dict()
        writer.writerow([_csv_cell(value) for value in (data[column] for column in CSV_COLUMNS)])


def _csv_cell(value):
    if not isinstance(value, str):
        return value
    return ("'" if value.startswith(_FORMULA_STARTS) else "") + printable(value, None)


_INSERT = f"INSERT INTO reports ({', '.join(REPORT_COLUMNS)}) VALUES ({', '.join('?' * len(REPORT_COLUMNS))})"


class _Transaction:
    def __init__(self, db: sqlite3.Connection, lock: threading.Lock):
        self._db, self._lock = db, lock

    def __enter__(self):
        self._lock.acquire()
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *rest):
        try:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._lock.release()
