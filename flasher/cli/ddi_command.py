"""`tsuf ddi poll`: take the updates a rollout server (hawkBit DDI) assigns to the handsets in reach.

Without -s it polls for every handset discovery sees in fastboot; with `--every SECONDS` it
keeps polling until interrupted (station mode: no manual step per handset). Reports go
through the outbox to every delivery target, the rollout server among them.
"""

import sys
import time
from pathlib import Path

from ..cache.store import default_cache
from ..device_text import printable
from ..errors import FlasherError
from ..history.backend import OutboxSender, deliver_due
from ..history.store import HistoryStore
from ..package.trust import TrustStore
from ..selection.assigned import AssignedUpdate
from ..settings import load_settings
from ..update.journal import Journal
from ..update.session import Station
from .device_commands import timeouts
from .discovery_commands import make_scanner
from .update_command import print_limits, update_options
from .update_view import SUCCESSFUL, DeviceBoard, print_summary


class NoRolloutServer(FlasherError):
    hint = "Name the rollout server first: tsuf settings --ddi https://HOST/TENANT --ddi-token-file FILE"


def run_ddi(args) -> int:
    settings = load_settings()
    server = settings.ddi_server()
    if server is None:
        raise NoRolloutServer("no rollout server is set")
    trust = TrustStore(Path(args.trust_store)) if args.trust_store else TrustStore.default()
    store = HistoryStore(settings.history_path)
    station = Station(settings.station_id, store, settings.logs_dir, Journal(settings.journal_dir))
    sender = OutboxSender(store, settings.backend()).start()
    station.on_recorded = lambda report: sender.kick()
    assigned = AssignedUpdate(server, settings.assignments(), trust, downloads=settings.data_dir / "downloads",
                              timeouts=timeouts(args))
    args.dry_run = False
    failed = False
    try:
        while True:
            failed = _one_round(args, assigned, station) or failed
            if not args.every:
                break
            time.sleep(args.every)
    finally:
        sender.stop()
        deliver_due(store, sender.backend)
        if waiting := store.pending_count():
            print(f"{waiting} report(s) wait for delivery; they are sent on the next run "
                  "or with `tsuf history --deliver`", file=sys.stderr)
    return 1 if failed else 0


def _one_round(args, assigned: AssignedUpdate, station: Station) -> bool:
    """One poll of every handset in reach, and the updates it brings; True if any failed."""
    addresses = args.address or [device.address for device in make_scanner(args).scan() if device.mode == "fastboot"]
    plans = assigned.plan(addresses, max_parallel=args.parallel)
    for plan in plans:
        name = plan.facts.serialno if plan.facts else plan.address
        print(f"{printable(name):12} {printable(plan.describe(), None)}", file=sys.stderr)
    if any(plan.deployment for plan in plans):
        print_limits(args)
    reports = assigned.run(plans, station, cache=default_cache(), options=update_options(args),
                           emit=DeviceBoard().handle, max_parallel=args.parallel)
    if reports or args.json:
        print_summary(reports, as_json=args.json)
    return any(plan.problem for plan in plans) or any(report.result not in SUCCESSFUL for report in reports)
