"""`tsuf update PACKAGE|--latest -s ADDRESS [-s ADDRESS ...]`: the whole update, on many handsets at once."""

import sys
from pathlib import Path

from ..cache.store import default_cache
from ..errors import FlasherError
from ..history.backend import OutboxSender, deliver_due
from ..history.report import Report
from ..history.store import HistoryStore
from ..package.errors import PackageError
from ..package.factory import is_factory_zip
from ..device_text import printable
from ..package.trust import TrustStore
from ..selection.latest import record_refusal
from ..settings import load_settings
from ..update.journal import Journal
from ..update.session import Options, Station
from ..update.updater import Updater
from .device_commands import timeouts
from .progress import ProgressBar
from .update_view import SUCCESSFUL, DeviceBoard, print_summary


class NoHandsets(FlasherError):
    hint = "Name each handset with -s ADDRESS (repeat -s for several), e.g. -s tcp:127.0.0.1:5554."


class NoPackage(FlasherError):
    hint = "Give the package to install (tsuf update PACKAGE), or let TSUF choose it: tsuf update --latest"


def run_update(args) -> int:
    if not args.address:
        raise NoHandsets("no handset to update")
    if bool(args.package) == bool(args.latest):
        raise NoPackage("give a package or --latest, not both" if args.package else "no package to install")
    settings = load_settings()
    trust = TrustStore(Path(args.trust_store)) if args.trust_store else TrustStore.default()
    store = HistoryStore(settings.history_path)
    station = Station(settings.station_id, store, settings.logs_dir, Journal(settings.journal_dir),
                      adb_key_folder=settings.data_dir)
    backend = settings.backend()
    sender = OutboxSender(store, backend).start() if backend else None
    if sender:
        station.on_recorded = lambda report: sender.kick()
    try:
        if args.latest:
            from .latest_command import update_latest
            return update_latest(args, station, trust)
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
    package = Path(args.package)
    try:
        updater = Updater(package, trust, station, cache=default_cache(),
                          fallback=Path(args.full) if args.full else None,
                          unsigned_factory_images=is_factory_zip(package) and _flash_unsigned(args, package),
                          use_otacert=args.otacert)
    except PackageError as error:
        record_refusal(station, [(address, address) for address in args.address], package.name, error)
        raise
    with updater:
        manifest = updater.manifest
        print(f"package {manifest.package_id}: {manifest.product or 'no product named'} "
              f"{manifest.build or '(build not stated)'}, {manifest.type}, {len(manifest.images)} image(s), "
              + ((manifest.signer or "signed by a trusted key") if manifest.signed else "factory images, not signed"),
              file=sys.stderr)
        for image, why in updater.left_out.items():
            print(f"not written: {image}: {why}", file=sys.stderr)
        if not args.dry_run:
            print_limits(args)
            bar = ProgressBar("verify images")
            updater.prepare(bar.update)
            bar.finish()
        board = DeviceBoard()
        return updater.update(args.address, options=update_options(args), emit=board.handle,
                              max_parallel=args.parallel)


def _flash_unsigned(args, package: Path) -> bool:
    """The user's word for factory images: the flag, or yes at the prompt on a terminal."""
    if args.unsigned_factory_images:
        return True
    if not sys.stdin.isatty():
        return False
    print(f"{printable(package.name, 80)} holds factory images that nobody signed for TSUF: they are written as "
          "they are. Flash them only if they come from the handset's manufacturer.", file=sys.stderr)
    return input("Flash these unsigned factory images? [y/N] ").strip().lower() in ("y", "yes")


def update_options(args) -> Options:
    return Options(dry_run=args.dry_run, reboot=not args.no_reboot, force_without_backup=args.force_without_backup,
                   timeouts=timeouts(args), return_timeout=args.return_timeout)



def print_limits(args) -> None:
    """What stops a handset's attempt, before the long work starts."""
    limits = timeouts(args)
    print(f"each handset: at most {limits.response:g} s of silence; each command within {limits.command:g} s"
          + ("" if limits.long_command == limits.command else f" (flash and erase {limits.long_command:g} s)"),
          file=sys.stderr)
