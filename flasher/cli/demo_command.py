"""`tsuf demo`: the whole job on virtual handsets, from a freshly signed package.

Virtual handsets on every link (TCP, emulated USB, UDP, serial pty) carry
the factory build B120; all of them are updated at once to B130: verify,
write slot b, check, switch, reboot, confirm.
"""

import shutil
import sys
import tempfile
from pathlib import Path


def run_demo(args) -> int:
    from ..update.updater import Updater
    from ..virtual.demo import DemoBench
    from .update_view import SUCCESSFUL, DeviceBoard, print_summary

    links = tuple(args.links.split(","))
    folder = Path(args.storage) if args.storage else Path(tempfile.mkdtemp(prefix="tsuf-demo-"))
    try:
        print("building signed packages B120 (factory) and B130 (update), starting virtual handsets",
              file=sys.stderr)
        with DemoBench(folder, count=args.count, links=links) as bench:
            for address in bench.addresses:
                print(f"  {address}", file=sys.stderr)
            with Updater(bench.update_package, bench.trust_store, bench.station) as updater:
                reports = updater.update(bench.addresses, emit=DeviceBoard().handle)
        print_summary(reports, as_json=False, show_address=True)
        if args.storage:
            print(f"history and logs: {folder}", file=sys.stderr)
    finally:
        if not args.storage:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if all(report.result in SUCCESSFUL for report in reports) else 1
