"""`tsuf demo`: the whole job on virtual handsets, from freshly signed packages and their catalog.

Virtual handsets on every link (TCP, emulated USB, UDP, serial pty) carry
the factory build B120, and one more on USB has a locked bootloader. Each
gets its package chosen as `tsuf update --latest` chooses it: the unlocked
ones B130 with fastboot (verify, write slot b, check, switch, reboot,
confirm), the locked one the manufacturer's B130 through recovery.
"""

import shutil
import sys
import tempfile
from pathlib import Path


def run_demo(args) -> int:
    from ..virtual.demo import DemoBench
    from .latest_command import print_plans
    from .update_view import SUCCESSFUL, DeviceBoard, print_summary

    links = tuple(args.links.split(","))
    folder = Path(args.storage) if args.storage else Path(tempfile.mkdtemp(prefix="tsuf-demo-"))
    try:
        print("building signed packages B120 (factory), B130 (update) and B130 for recovery (the manufacturer's, "
              "for locked handsets), publishing their catalog, starting virtual handsets", file=sys.stderr)
        with DemoBench(folder, count=args.count, links=links) as bench:
            for address in bench.addresses:
                print(f"  {address}", file=sys.stderr)
            latest = bench.latest()
            plans = latest.plan(bench.addresses)
            print_plans(plans)
            reports = latest.run(plans, bench.station, emit=DeviceBoard().handle)
        print_summary(reports, as_json=False, show_address=True)
        if args.storage:
            print(f"history and logs: {folder}", file=sys.stderr)
    finally:
        if not args.storage:
            shutil.rmtree(folder, ignore_errors=True)
    planned = all(plan.choice for plan in plans)
    return 0 if planned and all(report.result in SUCCESSFUL for report in reports) else 1
