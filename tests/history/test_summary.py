"""The lab summary's numbers, worked out by hand from a handful of attempts."""

import pytest

from flasher.history.codes import Result
from flasher.history.query import SummaryRow
from flasher.history.store import HistoryStore
from flasher.history.summary import FailureCount, summarize
from tests.history.test_store import _report

MiB = 1 << 20


def _row(result=Result.SUCCESS, *, station="lab-a", product="tsuf_zte_ab", day="2026-11-20", seconds=10.0,
         sent=100 * MiB) -> SummaryRow:
    return SummaryRow(product, station, result.name, result.code, f"{day}T08:00:00.000Z", seconds, sent)


def test_totals_medians_and_throughput():
    rows = [_row(seconds=10), _row(seconds=30), _row(seconds=20), _row(Result.VERIFY_FAILED, seconds=40),
            _row(Result.NEEDS_REBOOT, seconds=12)]
    total = summarize(rows).total
    assert (total.attempts, total.succeeded, total.success_rate) == (5, 4, 0.8)
    assert total.median_duration == 16.0  # of 10, 12, 20, 30: the failed attempt's 40 s is not an update's time
    assert total.bytes_sent == 500 * MiB and total.duration == 112
    assert total.throughput == pytest.approx(500 * MiB / 112)


def test_dry_runs_and_unfinished_attempts_are_not_attempts():
    summary = summarize([_row(), _row(Result.DRY_RUN), _row(Result.IN_PROGRESS)])
    assert summary.total.attempts == 1 and summary.top_failures == []


def test_groups_by_product_station_and_day():
    rows = [_row(station="lab-a", day="2026-11-21"), _row(Result.LINK_LOST, station="lab-b", day="2026-11-20"),
            _row(station="lab-b", product="other", day="2026-11-21", seconds=0, sent=0),
            _row(Result.LINK_LOST, station="lab-b", day="2026-11-21")]
    summary = summarize(rows)
    assert [(f.key, f.attempts, f.succeeded) for f in summary.by_station] == [("lab-b", 3, 1), ("lab-a", 1, 1)]
    assert [(f.key, f.attempts) for f in summary.by_product] == [("tsuf_zte_ab", 3), ("other", 1)]
    assert [(f.key, f.success_rate) for f in summary.by_day] == [("2026-11-20", 0.0), ("2026-11-21", 2 / 3)]
    other = summary.by_product[1]
    assert other.throughput is None and other.median_duration == 0  # a success that sent nothing, in no time


def test_top_failure_codes_are_the_most_frequent_first():
    rows = ([_row(Result.VERIFY_FAILED)] * 2 + [_row(Result.LINK_LOST)] * 3 + [_row(Result.BATTERY_LOW)] * 2
            + [_row(Result.DID_NOT_RETURN)] + [_row()] * 5)
    assert summarize(rows, top=3).top_failures == [FailureCount(200, "LINK_LOST", 3),
                                                    FailureCount(113, "BATTERY_LOW", 2),
                                                    FailureCount(301, "VERIFY_FAILED", 2)]


def test_an_empty_history_has_no_rates():
    total = summarize([]).total
    assert (total.attempts, total.success_rate, total.median_duration, total.throughput) == (0, None, None, None)


def test_summary_rows_carry_what_the_reports_say(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    report = _report(durations={"write": 3.5, "verify": 1.0}, bytes_sent=9 * MiB)
    store.record(report)
    summary = summarize(store.summary_rows())
    assert summary.total.median_duration == report.duration == 4.5
    assert summary.total.throughput == 9 * MiB / 4.5
