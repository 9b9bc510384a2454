"""Starting the app: a real station (settings, discovery) or the demo bench of virtual handsets."""

import shutil
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from flasher.discovery.scanner import Scanner, default_sources
from flasher.history.store import HistoryStore
from flasher.package.trust import TrustStore
from flasher.settings import load_settings
from flasher.update.journal import Journal
from flasher.update.session import Options, Station

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


def open_window(stack: ExitStack, *, demo: bool = False, package: Path | None = None, count: int = 4,
                parallel: int = 4):
    """The main window, shown and started; `stack` closes the demo bench and its folder."""
    from .board import Board
    from .discovery_scan import StationScan, fixed_scan
    from .main_window import MainWindow
    from .report_delivery import ReportDelivery
    if demo:
        from flasher.virtual.demo import DemoBench
        folder = Path(tempfile.mkdtemp(prefix="tsuf-gui-demo-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        bench = stack.enter_context(DemoBench(folder, count=count, boot_size=DEMO_BOOT_SIZE,
                                              system_size=DEMO_SYSTEM_SIZE))
        board = Board(bench.station, bench.trust_store, fixed_scan(bench.addresses), parallel=parallel)
        settings = None
        package = package or bench.update_package
    else:
        settings = load_settings()
        station = Station(settings.station_id, HistoryStore(settings.history_path), settings.logs_dir,
                          Journal(settings.journal_dir))
        scan = StationScan()
        # A handset may come back from its reboot on another link; the session looks with its own scanner.
        options = Options(scanner=Scanner(default_sources(scan.targets)))
        board = Board(station, TrustStore(settings.trust_store), scan, parallel=parallel, options=options)
        delivery = ReportDelivery(station)
        delivery.configure(settings)
        stack.callback(delivery.stop)
    window = MainWindow(board, settings=settings, demo=demo, delivery=None if demo else delivery)
    window.show()
    board.start()
    if package:
        window.open_package(Path(package))
    return window


def run(*, demo: bool = False, package: Path | None = None, count: int = 4, parallel: int = 4,
        argv: list[str] | None = None) -> int:
    from PySide6.QtCore import QTimer
    app = make_application(argv or sys.argv[:1])
    with ExitStack() as stack:
        window = open_window(stack, demo=demo, package=package, count=count, parallel=parallel)
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
