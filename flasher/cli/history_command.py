"""`tsuf history`: past attempts as a table, JSON or CSV, or the lab summary.

It reads the lab's shared history when one is set (`--history URL` or the
settings), else this station's own; `--local` reads the station's own anyway.
"""

import json
import sys

from ..device_text import printable
from ..errors import FlasherError
from ..history.backend import deliver_due
from ..history.query import Filter, HistoryReader
from ..history.store import HistoryStore, write_csv
from ..history.summary import Figures, Summary, mib_per_s, percent, seconds, summarize
from ..settings import Settings, load_settings
from .table import format_table


def run_history(args) -> int:
    settings = load_settings()
    if args.deliver:
        return _deliver(settings, HistoryStore(settings.history_path))
    if args.summary and args.csv:
        raise HistoryUsage("--summary prints a table or JSON, not CSV")
    reader = _reader(args, settings)
    where = Filter(device_serial=args.serial, product=args.product, result=args.result, station_id=args.station,
                   since=args.since, until=args.until, limit=args.limit)
    try:
        if args.summary:
            _print_summary(summarize(reader.summary_rows(where)), reader.location, as_json=args.json)
        else:
            _print_reports(reader.query(where), reader.location, args)
    except FlasherError as error:
        if not isinstance(reader, HistoryStore):
            error.hint = f"{error.hint} `tsuf history --local` reads this station's own history."
        raise
    finally:
        reader.close()
    return 0


def _reader(args, settings: Settings) -> HistoryReader:
    url = args.history or ("" if args.local else settings.history_url)
    if url:
        from ..history.postgres import PostgresHistory
        return PostgresHistory(url)
    return HistoryStore(settings.history_path)


def _print_reports(reports, location: str, args) -> None:
    if args.json:
        print(json.dumps([report.to_dict() for report in reports], indent=2))
    elif args.csv:
        write_csv(reports, sys.stdout)
    elif not reports:
        print(f"no attempts recorded in {location}", file=sys.stderr)
    else:
        # A lab's history holds what every station's handsets said: shown printable, and whole
        # (a handset that failed before it was identified is known by its full address).
        headings = ("started (UTC)", "station", "handset", "product", "build", "result", "code", "message")
        print(format_table(headings, [
            (printable(report.started_at, 24), printable(report.station_id, 40), printable(report.device_serial, 64),
             printable(report.product, 40), printable(f"{report.from_build or '?'}->{report.to_build}", 40),
             printable(report.result, 40), str(report.code), printable(report.message, 60))
            for report in reports], right=frozenset({6})))


def _print_summary(summary: Summary, location: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"history": location, **summary.to_dict()}, indent=2))
        return
    total = summary.total
    if not total.attempts:
        print(f"no attempts recorded in {location}", file=sys.stderr)
        return
    print(f"{total.attempts} attempt(s) on {len(summary.by_station)} station(s), {percent(total.success_rate)} "
          f"succeeded, median {seconds(total.median_duration)}, {mib_per_s(total.throughput)}  ({location})")
    for title, groups in (("product", summary.by_product), ("station", summary.by_station),
                          ("day (UTC)", summary.by_day)):
        print(f"\n{'by ' + title:24} {'attempts':>8} {'succeeded':>9} {'median':>9} {'throughput':>12}")
        for group in groups:
            print(_line(group))
    if summary.top_failures:
        print(f"\n{'top failure codes':24} {'attempts':>8}")
        for failure in summary.top_failures:
            print(f"{failure.code:>4} {printable(failure.result, 19):19} {failure.count:>8}")


def _line(group: Figures) -> str:
    return (f"{printable(group.key, 24):24} {group.attempts:>8} {percent(group.success_rate):>9} "
            f"{seconds(group.median_duration):>9} {mib_per_s(group.throughput):>12}")


def _deliver(settings, store: HistoryStore) -> int:
    """Send every report the backend has not acknowledged, now, whatever the backoff says."""
    backend = settings.backend()
    if backend is None:
        raise NoBackend("no backend is configured")
    outcome = deliver_due(store, backend, ignore_backoff=True)
    print(f"{outcome.delivered} report(s) delivered, {store.pending_count()} waiting"
          + (f", {outcome.left_to_others} left to another deliverer" if outcome.left_to_others else "")
          + (f" ({outcome.last_error})" if outcome.last_error else ""), file=sys.stderr)
    return 0 if not store.pending_count() else 1


class NoBackend(FlasherError):
    hint = ("Set one with: tsuf settings --backend http://HOST:PORT/PATH, or a lab's shared history with "
            "tsuf settings --history postgresql://USER@HOST/DATABASE")


class HistoryUsage(FlasherError):
    hint = "Use --summary alone or with --json."
