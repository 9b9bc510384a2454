"""`tsuf update PACKAGE -s ADDRESS [-s ADDRESS ...]`: the whole update, on many handsets at once."""

import sys
from pathlib import Path

from ..device import Timeouts
from ..cache.store import default_cache
from ..errors import FlasherError
from ..history.backend import OutboxSender, deliver_due
from ..history.codes import Result
from ..history.report import Report, new_report_id, utc_now
from ..history.store import HistoryStore
from ..package.errors import PackageError, UntrustedPackage, UnsignedPackage, BadSignature
from ..package.trust import TrustStore
from ..settings import load_settings
from ..update.journal import Journal
from ..update.session import Options, Station
from ..update.updater import Updater
from .progress import ProgressBar
from .update_view import SUCCESSFUL, DeviceBoard, print_summary


class NoHandsets(FlasherError):
    hint = "Name each handset with -s ADDRESS (repeat -s for several), e.g. -s tcp:127.0.0.1:5554."


def run_update(args) -> int:
    if not args.address:
        raise NoHandsets("no handset to update")
    settings = load_settings()
    trust = TrustStore(Path(args.trust_store)) if args.trust_store else TrustStore.default()
    store = HistoryStore(settings.history_path)
    station = Station(settings.station_id, store, settings.logs_dir, Journal(settings.journal_dir))
    backend = settings.backend()
    sender = OutboxSender(store, backend).start() if backend else None
    if sender:
        station.on_recorded = lambda report: sender.kick()
    try:
        reports = _update(args, station, trust)
    finally:
        if sender:
            sender.stop()
            deliver_due(store, sender.backend)
            if waiting := store.pending_count():
                print(f"{waiting} report(s) wait for the backend; they are sent on the next run "
                      "or with `tsuf history --deliver`", file=sys.stderr)
    print_summary(reports, as_json=args.json)
    return 0 if all(report.result in SUCCESSFUL for report in reports) else 1


def _update(args, station: Station, trust: TrustStore) -> list[Report]:
    try:
        updater = Updater(Path(args.package), trust, station, cache=default_cache(),
                          fallback=Path(args.full) if args.full else None)
    except PackageError as error:
        _record_refusal(args.address, station, args.package, error)
        raise
    with updater:
        manifest = updater.manifest
        print(f"package {manifest.package_id}: {manifest.product} {manifest.build}, {manifest.type}, "
              f"{len(manifest.images)} image(s), signed by a trusted key", file=sys.stderr)
        if not args.dry_run:
            bar = ProgressBar("verify images")
            updater.prepare(bar.update)
            bar.finish()
        board = DeviceBoard()
        return updater.update(args.address, options=Options(dry_run=args.dry_run, reboot=not args.no_reboot,
                                                              force_without_backup=args.force_without_backup,
                                                              timeouts=Timeouts(response=args.timeout)),
                              emit=board.handle, max_parallel=args.parallel)


def _record_refusal(addresses: list[str], station: Station, package: str, error: PackageError) -> None:
    """A refused package is still an attempt on each handset: the history says why."""
    untrusted = isinstance(error, (UntrustedPackage, UnsignedPackage, BadSignature))
    for address in addresses:
        report = Report(new_report_id(), station.station_id, device_serial=address, package_id=Path(package).name,
                        started_at=utc_now(), ended_at=utc_now())
        report.set_result(Result.PACKAGE_UNTRUSTED if untrusted else Result.PACKAGE_CORRUPT,
                          phase="package", message=f"{error} ({error.hint})")
        station.history.record(report)
        station.on_recorded(report)
