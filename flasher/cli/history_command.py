"""`tsuf history`: past attempts from the local history, as a table, JSON or CSV."""

import json
import sys

from ..errors import FlasherError
from ..history.backend import deliver_due
from ..history.store import Filter, HistoryStore, write_csv
from ..settings import load_settings


def run_history(args) -> int:
    settings = load_settings()
    store = HistoryStore(settings.history_path)
    if args.deliver:
        return _deliver(settings, store)
    reports = store.query(Filter(device_serial=args.serial, product=args.product, result=args.result,
                                 station_id=args.station, since=args.since, until=args.until,
                                 limit=args.limit))
    if args.json:
        print(json.dumps([report.to_dict() for report in reports], indent=2))
    elif args.csv:
        write_csv(reports, sys.stdout)
    elif not reports:
        print(f"no attempts recorded in {settings.history_path}", file=sys.stderr)
    else:
        print(f"{'started (UTC)':24} {'handset':12} {'product':14} {'build':15} {'result':14} {'code':>4}  message")
        for report in reports:
            builds = f"{report.from_build or '?'}->{report.to_build}"
            print(f"{report.started_at:24} {report.device_serial:12} {report.product[:14]:14} {builds[:15]:15} "
                  f"{report.result[:14]:14} {report.code:>4}  {report.message[:60]}")
    return 0


def _deliver(settings, store: HistoryStore) -> int:
    """Send every report the backend has not acknowledged, now, whatever the backoff says."""
    backend = settings.backend()
    if backend is None:
        raise NoBackend("no backend is configured")
    outcome = deliver_due(store, backend, now=float("inf"))
    print(f"{outcome.delivered} report(s) delivered, {store.pending_count()} waiting"
          + (f" ({outcome.last_error})" if outcome.last_error else ""), file=sys.stderr)
    return 0 if not store.pending_count() else 1


class NoBackend(FlasherError):
    hint = "Set one with: tsuf settings --backend http://HOST:PORT/PATH"
