"""The lab summary: attempts, success rate, median duration and throughput per product, station and day,
and the failure codes seen most. Computed here once for `tsuf history --summary` and the app.

What counts:
- an attempt is a finished report that tried to change a handset: IN_PROGRESS (not finished)
  and DRY_RUN (changes nothing) are left out;
- it succeeded if it ended SUCCESS, NEEDS_REBOOT (switched; the operator chose not to reboot) or
  NOT_CONFIRMED or BOOTED_NOT_CONFIRMED (switched and rebooted; the handset cannot say which build
  it runs);
- its duration is the time spent in its phases (Report.duration); the median is over the
  successful attempts, since a refusal in preflight says nothing about how long an update takes;
- throughput is bytes sent over seconds spent, summed over all attempts of the group.
"""

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from .codes import Result
from .query import SummaryRow

MiB = 1 << 20
SUCCEEDED = frozenset({Result.SUCCESS.name, Result.NEEDS_REBOOT.name, Result.NOT_CONFIRMED.name,
                       Result.BOOTED_NOT_CONFIRMED.name})
NOT_ATTEMPTS = frozenset({Result.IN_PROGRESS.name, Result.DRY_RUN.name})
TOP_FAILURES = 5


@dataclass(frozen=True)
class Figures:
    key: str
    attempts: int
    succeeded: int
    success_rate: float | None
    """0 to 1; None without attempts."""
    median_duration: float | None
    """Seconds, over the successful attempts; None without one."""
    bytes_sent: int
    duration: float
    throughput: float | None
    """Bytes per second: bytes_sent / duration; None when no time was spent."""


@dataclass(frozen=True)
class FailureCount:
    code: int
    result: str
    count: int


@dataclass(frozen=True)
class Summary:
    total: Figures
    by_product: list[Figures]
    by_station: list[Figures]
    by_day: list[Figures]
    """Oldest day first; days are UTC dates (YYYY-MM-DD)."""
    top_failures: list[FailureCount]

    def to_dict(self) -> dict:
        return asdict(self)


def figures(key: str, rows: list[SummaryRow]) -> Figures:
    succeeded = [row for row in rows if row.result in SUCCEEDED]
    seconds = sum(row.duration for row in rows)
    sent = sum(row.bytes_sent for row in rows)
    return Figures(key=key, attempts=len(rows), succeeded=len(succeeded),
                   success_rate=len(succeeded) / len(rows) if rows else None,
                   median_duration=statistics.median(row.duration for row in succeeded) if succeeded else None,
                   bytes_sent=sent, duration=seconds, throughput=sent / seconds if seconds > 0 else None)


def summarize(rows: Iterable[SummaryRow], *, top: int = TOP_FAILURES) -> Summary:
    attempts = [row for row in rows if row.result not in NOT_ATTEMPTS]
    failures = Counter((row.code, row.result) for row in attempts if row.result not in SUCCEEDED)
    ranked = sorted(failures.items(), key=lambda item: (-item[1], item[0][0]))[:top]
    return Summary(total=figures("all", attempts),
                   by_product=_by(attempts, lambda row: row.product or "?"),
                   by_station=_by(attempts, lambda row: row.station_id),
                   by_day=sorted(_by(attempts, lambda row: row.started_at[:10]), key=lambda day: day.key),
                   top_failures=[FailureCount(code, result, count) for (code, result), count in ranked])


def _by(rows: list[SummaryRow], key: Callable[[SummaryRow], str]) -> list[Figures]:
    """Most attempts first."""
    groups: dict[str, list[SummaryRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return sorted((figures(name, group) for name, group in groups.items()), key=lambda f: (-f.attempts, f.key))


# How the figures read, the same in the CLI and the app; "-" where there is nothing to measure.

def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def mib_per_s(bytes_per_second: float | None) -> str:
    return "-" if bytes_per_second is None else f"{bytes_per_second / MiB:.1f} MiB/s"
