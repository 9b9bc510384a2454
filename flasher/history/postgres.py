"""A lab's shared history in PostgreSQL: every station delivers its reports here, anyone reads them.

Stations never write here first: a report goes to the station's own SQLite store
and outbox, and the OutboxSender delivers it here like to an HTTP backend, with
the same backoff, one INSERT ... ON CONFLICT (report_id) DO NOTHING per report.
A report delivered twice (the answer was lost, the server restarted) stays one row.

TSUF creates and migrates the tables itself (schema_version holds the steps
applied); the columns are the SQLite store's, the outbox aside. psycopg is
imported only when a PostgreSQL history is used, so `tsuf --version` stays fast.
"""

import threading
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .backend import DeliveryFailed
from .query import (REPORT_COLUMNS, SUMMARY_COLUMNS, Filter, HistoryError, SummaryRow, limit_sql, report_row,
                    where_sql)
from .report import Report

SCHEMES = ("postgresql://", "postgres://")
SCHEMA_VERSION = 1
# Any constant: stations starting together take this lock, so one of them migrates.
_MIGRATION_LOCK = 0x7473_7566
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
            body TEXT NOT NULL,
            duration DOUBLE PRECISION NOT NULL DEFAULT 0,
            bytes_sent BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX reports_by_device ON reports (device_serial, started_at);
        CREATE INDEX reports_by_time ON reports (started_at);
        CREATE INDEX reports_by_station ON reports (station_id, started_at);
        CREATE INDEX reports_by_product ON reports (product, started_at);
    """,
}
_INSERT = (f"INSERT INTO reports ({', '.join(REPORT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(REPORT_COLUMNS))}) "
           "ON CONFLICT (report_id) DO NOTHING")


class HistoryUnreachable(HistoryError):
    hint = ("Check that the database server is up and reachable, and the URL, user and password "
            "(tsuf settings --history). Stations keep their reports meanwhile and deliver them later.")


def is_postgres_url(text: str) -> bool:
    return text.startswith(SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password (in the user part or the query), fit for logs and listings."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    query = urlencode([(key, "***" if key == "password" else value) for key, value in parse_qsl(parts.query)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class PostgresHistory:
    """A HistoryReader over the lab's database, and a delivery target for the OutboxSender.

    It connects on first use and again after the server restarts; nothing is sent
    or read when it is made, so a station configured while offline still starts.
    """

    def __init__(self, url: str, *, timeout: float = 10.0):
        if not is_postgres_url(url):
            raise HistoryError(f"{redacted(url)!r} is not a PostgreSQL URL",
                               hint="Give postgresql://USER@HOST[:PORT]/DATABASE (the password in ~/.pgpass, "
                                    "$PGPASSWORD or the URL).")
        self._url = url
        self.location = redacted(url)
        self.timeout = timeout
        self._secret = unquote(urlsplit(url).password or "") or dict(parse_qsl(urlsplit(url).query)).get("password", "")
        self._lock = threading.Lock()
        self._db = None
        psycopg = _psycopg()
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise HistoryError(f"{self.location} is not a valid PostgreSQL URL ({self._clean(exc)})",
                               hint="Give postgresql://USER@HOST[:PORT]/DATABASE.") from None

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- delivery (the OutboxSender's target) --------------------------------------

    def send(self, report: Report) -> None:
        try:
            self._run(lambda db: db.execute(_INSERT, report_row(report)))
        except HistoryError as exc:
            raise DeliveryFailed(str(exc)) from None

    # -- reading -----------------------------------------------------------------------

    def query(self, where: Filter = Filter()) -> list[Report]:
        clause, values = where_sql(where, "%s")
        sql = f"SELECT body FROM reports{clause} ORDER BY started_at DESC, report_id DESC{limit_sql(where)}"
        rows = self._run(lambda db: db.execute(sql, values).fetchall())
        return [Report.from_json(body) for (body,) in rows]

    def summary_rows(self, where: Filter = Filter()) -> list[SummaryRow]:
        clause, values = where_sql(where, "%s")
        sql = (f"SELECT {SUMMARY_COLUMNS} FROM reports{clause} "
               f"ORDER BY started_at DESC, report_id DESC{limit_sql(where)}")
        rows = self._run(lambda db: db.execute(sql, values).fetchall())
        return [SummaryRow(*row) for row in rows]

    def schema_version(self) -> int:
        return self._run(lambda db: db.execute("SELECT max(version) FROM schema_version").fetchone()[0])

    # -- the connection ---------------------------------------------------------------

    def _run(self, work):
        psycopg = _psycopg()
        with self._lock:
            reused = self._db is not None
            while True:
                try:
                    return work(self._db or self._open())
                except psycopg.OperationalError as exc:
                    self._drop()
                    if not reused:
                        raise HistoryUnreachable(f"lost the shared history at {self.location} "
                                                 f"({self._clean(exc)})") from None
                    reused = False  # the server restarted since the last use: once more, on a new connection
                except psycopg.Error as exc:
                    raise HistoryError(f"{self.location}: {self._clean(exc)}",
                                       hint="Check the database user's rights on the TSUF tables.") from None

    def _open(self):
        psycopg = _psycopg()
        try:
            db = psycopg.connect(self._url, autocommit=True, connect_timeout=max(2, round(self.timeout)),
                                 application_name="tsuf")
        except psycopg.Error as exc:
            raise HistoryUnreachable(f"cannot reach the shared history at {self.location} "
                                     f"({self._clean(exc)})") from None
        try:
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    def _migrate(self, db) -> None:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            if db.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
                db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                           "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            version = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryError(f"the shared history at {self.location} was made by a newer TSUF "
                                   f"(schema {version})", hint="Update TSUF on this station.")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                db.execute(_MIGRATIONS[step])
                db.execute("INSERT INTO schema_version (version) VALUES (%s)", (step,))

    def _drop(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def _clean(self, error: Exception) -> str:
        """The driver's message on one line, without the password should a server ever echo it."""
        text = " ".join(str(error).split())
        return text.replace(self._secret, "***") if self._secret else text


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise HistoryError("the PostgreSQL driver (psycopg) is not installed",
                           hint="Install it: pip install 'psycopg[binary]'.") from None
    return psycopg
