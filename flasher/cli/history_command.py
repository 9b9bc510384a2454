"""`tsuf history`: past attempts from the local history, as a table, JSON or CSV."""

import json
import sys

from ..history.store import Filter, HistoryStore, write_csv
from ..settings import load_settings


def run_history(args) -> int:
    settings = load_settings()
    store = HistoryStore(settings.history_path)
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
