"""What every history answers, whichever database holds it: a station's SQLite file or a lab's PostgreSQL.

Both keep the same columns and answer the same `Filter`, so `tsuf history`, the lab
summary and the app do not care which one they read.
"""

from dataclasses import dataclass
from typing import Protocol

from ..errors import FlasherError
from .report import Report

# The columns of the reports table, in both databases; `body` is the whole report as JSON.
REPORT_COLUMNS = ("report_id", "station_id", "device_serial", "product", "package_sha256", "result", "code",
                  "started_at", "ended_at", "body", "duration", "bytes_sent")


class HistoryError(FlasherError):
    hint = "Check that the history file is readable and writable, or point TSUF at another one."


@dataclass(frozen=True)
class Filter:
    device_serial: str | None = None
    product: str | None = None
    result: str | None = None
    station_id: str | None = None
    since: str | None = None
    """Start times are ISO 8601 in UTC, so a date ('2026-11-20') or a full time compares as text."""
    until: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class SummaryRow:
    """The few columns the lab summary reads: no report bodies travel for it."""

    product: str
    station_id: str
    result: str
    code: int
    started_at: str
    duration: float
    bytes_sent: int


SUMMARY_COLUMNS = ", ".join(field for field in SummaryRow.__dataclass_fields__)


class HistoryReader(Protocol):
    location: str
    """Where the history is, fit to show (a URL without its password)."""

    def query(self, where: Filter = Filter()) -> list[Report]:
        """Reports that match, newest first."""

    def summary_rows(self, where: Filter = Filter()) -> list[SummaryRow]:
        """What the summary needs of the reports that match."""

    def close(self) -> None:
        ...


def report_row(report: Report) -> tuple:
    """A report as the values of REPORT_COLUMNS."""
    return (report.report_id, report.station_id, report.device_serial, report.product, report.package_sha256,
            report.result, report.code, report.started_at, report.ended_at, report.to_json(), report.duration,
            report.bytes_sent)


def where_sql(where: Filter, mark: str) -> tuple[str, list]:
    """The WHERE clause (or '') and its values; `mark` is the driver's placeholder ('?' or '%s')."""
    clauses, values = [], []
    for column, value in (("device_serial", where.device_serial), ("product", where.product),
                          ("result", where.result), ("station_id", where.station_id)):
        if value is not None:
            clauses.append(f"{column} = {mark}")
            values.append(value)
    if where.since:
        clauses.append(f"started_at >= {mark}")
        values.append(where.since)
    if where.until:
        clauses.append(f"started_at < {mark}")
        values.append(where.until)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


def limit_sql(where: Filter) -> str:
    return f" LIMIT {int(where.limit)}" if where.limit else ""
