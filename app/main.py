"""Starting the app: a real station (settings, discovery) or the demo bench of virtual handsets."""

import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flasher.cache.store import FirmwareCache, default_cache
from flasher.discovery.scanner import Scanner, default_sources
from flasher.history.store import HistoryStore
from flasher.library.index import Library
from flasher.package.trust import TrustStore
from flasher.selection.assigned import AssignedUpdate
from flasher.selection.latest import LatestUpdate
from flasher.settings import Settings, load_settings
from flasher.update.journal import Journal
from flasher.update.session import Options, Station

if TYPE_CHECKING:
    from .discovery_scan import StationScan
    from .report_delivery import ReportDelivery

MiB = 1 << 20
# Demo images are small, so a newcomer sees a whole update in seconds.
DEMO_BOOT_SIZE, DEMO_SYSTEM_SIZE = 4 * MiB, 24 * MiB


def make_application(argv: list[str]):
    from PySide6.QtWidgets import QApplication

    from .icons import icon
    from .palette import follow_system
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("TSUF")
    app.setOrganizationName("TSUF")
    app.setDesktopFileName("tsuf")
    app.setWindowIcon(icon("tsuf"))
    follow_system(app)
    return app


@dataclass
class RealStation:
    """The station in the settings: its history, handsets on every link, updates from its catalog and library."""

    settings: Settings
    station: Station
    trust_store: TrustStore
    scan: "StationScan"
    options: Options
    delivery: "ReportDelivery"
    latest: Callable[[], LatestUpdate]
    cache: FirmwareCache


def real_station(stack: ExitStack) -> RealStation:
    from .board import station_policy
    from .discovery_scan import StationScan
    from .report_delivery import ReportDelivery
    settings = load_settings()
    station = Station(settings.station_id, HistoryStore(settings.history_path), settings.logs_dir,
                      Journal(settings.journal_dir), adb_key_folder=settings.data_dir)
    trust_store = TrustStore(settings.trust_store)
    scan = StationScan()
    # A handset may come back from its reboot on another link; the session looks with its own scanner.
    options = Options(scanner=Scanner(default_sources(scan.targets)), policy=station_policy(settings))
    delivery = ReportDelivery(station)
    delivery.configure(settings)
    stack.callback(delivery.stop)

    def latest() -> LatestUpdate:  # the catalog URL as the settings say now
        return LatestUpdate(trust_store, catalog=settings.catalog_url or None, library=Library.default())
    return RealStation(settings, station, trust_store, scan, options, delivery, latest, default_cache())


def demo_bench(stack: ExitStack, *, count: int, links: tuple[str, ...] | None = None, locked: bool = True):
    """The demo's virtual handsets in a folder of their own, closed and removed with `stack`; with
    `locked`, one more on USB has a locked bootloader."""
    from flasher.virtual.demo import LINKS, DemoBench
    folder = Path(tempfile.mkdtemp(prefix="tsuf-gui-demo-"))
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    return stack.enter_context(DemoBench(folder, count=count, links=links or LINKS, locked=locked,
                                         boot_size=DEMO_BOOT_SIZE, system_size=DEMO_SYSTEM_SIZE))


def open_window(stack: ExitStack, *, demo: bool = False, package: Path | None = None, count: int = 4,
                parallel: int = 4):
    """The main window, shown and started; `stack` closes the demo bench and its folder."""
    from .board import Board
    from .discovery_scan import fixed_scan
    from .guided.steps import GuidedSetup
    from .main_window import MainWindow
    if demo:
        bench = demo_bench(stack, count=count)
        scan, latest = fixed_scan(bench.addresses), bench.latest
        board = Board(bench.station, bench.trust_store, scan, parallel=parallel, latest=latest)
        settings = delivery = None
        package = package or bench.update_package
    else:
        parts = real_station(stack)
        scan, latest = parts.scan, parts.latest
        rollout = AssignedUpdate.from_settings(parts.settings, parts.trust_store)
        board = Board(parts.station, parts.trust_store, scan, parallel=parallel, options=parts.options,
                      latest=latest, cache=parts.cache, rollout=rollout.assigned_build if rollout else None)
        settings, delivery = parts.settings, parts.delivery

    def guided() -> GuidedSetup:
        return GuidedSetup(board.station, scan, latest, board.options, board.cache)
    window = MainWindow(board, settings=settings, demo=demo, delivery=delivery, guided=guided)
    window.show()
    board.start()
    if package:
        window.open_package(Path(package))
    return window


def open_guided(stack: ExitStack, *, demo: bool = False):
    """The guided window for one phone, shown and started; with `demo`, one virtual phone on USB."""
    from .discovery_scan import fixed_scan
    from .guided.flow import GuidedFlow
    from .guided.steps import GuidedSetup
    from .guided.window import GuidedWindow
    if demo:
        bench = demo_bench(stack, count=1, links=("usb",), locked=False)  # the guided mode takes one phone
        setup = GuidedSetup(bench.station, fixed_scan(bench.addresses), bench.latest)
    else:
        parts = real_station(stack)
        setup = GuidedSetup(parts.station, parts.scan, parts.latest, parts.options, parts.cache)
    flow = GuidedFlow(setup)
    window = GuidedWindow(flow, demo=demo)
    window.show()
    flow.start()
    return window


def run(*, demo: bool = False, guided: bool = False, package: Path | None = None, count: int = 4,
        parallel: int = 4, argv: list[str] | None = None) -> int:
    from PySide6.QtCore import QTimer
    app = make_application(argv or sys.argv[:1])
    with ExitStack() as stack:
        window = open_guided(stack, demo=demo) if guided else \
            open_window(stack, demo=demo, package=package, count=count, parallel=parallel)
        for number in (signal.SIGINT, signal.SIGTERM):  # stop sessions safely, then clean up the demo folder
            signal.signal(number, lambda *_: window.stop_and_close())
        # Python runs signal handlers only between bytecodes; an idle timer gives it the chance.
        wake = QTimer(interval=250, timeout=lambda: None)
        wake.start()
        try:
            return app.exec()
        finally:
            wake.stop()
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_DFL)
