"""The local history: every report, kept in SQLite before anything is sent anywhere.

Reports are stored whole (JSON) with the columns people filter on beside
them. The outbox table holds what a backend has not acknowledged yet, so a
station that is offline for a week loses nothing.
"""

import csv
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import FlasherError
from .codes import Result
from .report import Report

SCHEMA_VERSION = 1
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
}

CSV_COLUMNS = ("report_id", "station_id", "device_serial", "address", "product", "from_build", "to_build",
               "package_type", "path", "result", "code", "phase", "attempt", "resumed",
               "started_at", "ended_at", "bytes_sent", "message")


class HistoryError(FlasherError):
    hint = "Check that the history file is readable and writable, or point TSUF at another one."


@dataclass(frozen=True)
class Filter:
    device_serial: str | None = None
    product: str | None = None
    result: str | None = None
    station_id: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None


class HistoryStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path}: cannot open the history ({exc})") from None

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
                "INSERT INTO reports VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (report_id) DO UPDATE SET "
                "device_serial = excluded.device_serial, product = excluded.product, result = excluded.result, "
                "code = excluded.code, ended_at = excluded.ended_at, body = excluded.body "
                "WHERE reports.result = ?",
                (*self._row(report), Result.IN_PROGRESS.name)).rowcount
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

    @staticmethod
    def _row(report: Report) -> tuple:
        return (report.report_id, report.station_id, report.device_serial, report.product,
                report.package_sha256, report.result, report.code, report.started_at,
                report.ended_at, report.to_json())

    def query(self, where: Filter = Filter()) -> list[Report]:
        clauses, values = [], []
        for column, value in (("device_serial", where.device_serial), ("product", where.product),
                              ("result", where.result), ("station_id", where.station_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if where.since:
            clauses.append("started_at >= ?")
            values.append(where.since)
        if where.until:
            clauses.append("started_at < ?")
            values.append(where.until)
        sql = "SELECT body FROM reports"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY started_at DESC, rowid DESC"
        if where.limit:
            sql += f" LIMIT {int(where.limit)}"
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [Report.from_json(body) for (body,) in rows]

    def attempts(self, device_serial: str, package_sha256: str) -> int:
        """How many attempts this handset has made with this package."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM reports WHERE device_serial = ? AND package_sha256 = ?",
                (device_serial, package_sha256)).fetchone()
        return count

    # -- the outbox ----------------------------------------------------------

    def due_for_delivery(self, now: float, limit: int = 100) -> list[tuple[Report, int]]:
        """Reports the backend has not acknowledged whose retry time has come, with their attempt counts."""
        with self._lock:
            rows = self._db.execute(
                "SELECT r.body, o.attempts FROM outbox o JOIN reports r USING (report_id) "
                "WHERE o.next_attempt <= ? ORDER BY r.started_at LIMIT ?", (now, limit)).fetchall()
        return [(Report.from_json(body), attempts) for body, attempts in rows]

    def pending_count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return count

    def delivered(self, report_id: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM outbox WHERE report_id = ?", (report_id,))

    def delivery_failed(self, report_id: str, error: str, next_attempt: float) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE report_id = ?",
                (next_attempt, error[:500], report_id))


def write_csv(reports: Iterable[Report], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        data = report.to_dict()
        writer.writerow([data[column] for column in CSV_COLUMNS])


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
