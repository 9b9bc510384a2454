"""`tsuf update --latest`: each handset gets the newest build by its best path, with the reason shown."""

import json
import sys
import threading
from collections.abc import Sequence

from ..cache.store import default_cache
from ..device_text import printable
from ..library.index import Library
from ..package.trust import TrustStore
from ..selection.latest import HandsetPlan, LatestUpdate
from ..settings import load_settings
from ..update.session import Station
from .progress import ProgressBar
from .device_commands import timeouts
from .update_command import print_limits, update_options
from .update_view import SUCCESSFUL, DeviceBoard, print_summary


def update_latest(args, station: Station, trust: TrustStore) -> int:
    latest = LatestUpdate(trust, catalog=args.catalog or load_settings().catalog_url or None,
                          library=Library.default(), timeouts=timeouts(args))
    plans = latest.plan(args.address, max_parallel=args.parallel)
    print_plans(plans)
    planned = all(plan.choice or plan.up_to_date for plan in plans)
    if args.dry_run:  # the plan is the answer: nothing is downloaded or written
        if args.json:
            print(json.dumps([_plan_dict(plan) for plan in plans], indent=2))
        return 0 if planned else 1
    print_limits(args)
    bars = _Bars()
    try:
        reports = latest.run(plans, station, cache=default_cache(), options=update_options(args),
                             emit=DeviceBoard().handle, progress=bars, max_parallel=args.parallel)
    finally:
        bars.finish()
    if reports or args.json:
        print_summary(reports, as_json=args.json)
    return 0 if planned and all(report.result in SUCCESSFUL for report in reports) else 1


def print_plans(plans: Sequence[HandsetPlan]) -> None:
    """One line per handset on stderr: its build, the build it gets and why; what to do when it gets none."""
    for plan in plans:
        name = plan.identity.serialno if plan.identity else plan.address
        print(f"{printable(name):12} {printable(plan.describe(), None)}", file=sys.stderr)
        if plan.problem and not plan.up_to_date and plan.problem.hint:
            print(f"{'':12} {printable(plan.problem.hint, None)}", file=sys.stderr)


def _plan_dict(plan: HandsetPlan) -> dict:
    identity, choice = plan.identity, plan.choice
    return {"address": plan.address, "serialno": identity.serialno if identity else None,
            "build": identity.build if identity else None,
            "package": choice.package.package_id if choice else None,
            "type": choice.package.type if choice else None,
            "install": choice.package.install if choice else None,
            "locked": identity.locked if identity else None,
            "to_build": choice.package.build if choice else None,
            "reason": choice.reason if choice else None,
            "up_to_date": plan.up_to_date, "problem": None if choice or plan.up_to_date else str(plan.problem)}


class _Bars:
    """One progress bar per download or verification, by its label."""

    def __init__(self):
        self._bars: dict[str, ProgressBar] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, done: int, total: int) -> None:
        with self._lock:
            bar = self._bars.get(label)
            if bar is None:
                bar = self._bars[label] = ProgressBar(label)
            bar.update(done, total)
            if done >= total:
                self._bars.pop(label).finish()

    def finish(self) -> None:
        with self._lock:
            for bar in self._bars.values():
                bar.finish("stopped")
            self._bars.clear()
