"""Qt runs offscreen in tests; the platform must be set before Qt is imported."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from flasher.history.store import HistoryStore  # noqa: E402
from flasher.update.journal import Journal  # noqa: E402
from flasher.update.session import Options, Station  # noqa: E402
from tests.support.handsets import RunningHandset, small_profile  # noqa: E402
from tests.support.packages import make_keys, make_package, provision  # noqa: E402


class Bench:
    """Small virtual handsets on TCP with a factory build, a signed update, and a station."""

    def __init__(self, folder: Path, count: int):
        self.folder = folder
        self.keys = make_keys(folder)
        self.station = Station("gui-test", HistoryStore(folder / "history.sqlite"), folder / "logs",
                               Journal(folder / "journal"))
        self.handsets = [RunningHandset(folder / f"handset-{n}",
                                        small_profile(f"VH{n:06d}", oem_public_key=self.keys.oem_public_pem))
                         for n in range(1, count + 1)]
        provision([running.handset for running in self.handsets],
                  make_package(folder, self.keys, build="B120", rollback_index=1), self.keys, self.station)
        self.package = make_package(folder, self.keys, build="B130", rollback_index=5)

    @property
    def addresses(self) -> list[str]:
        return [running.address for running in self.handsets]

    def stop(self) -> None:
        for running in self.handsets:
            running.stop()


@pytest.fixture
def make_bench(tmp_path):
    benches = []

    def make(count: int = 2) -> Bench:
        bench = Bench(tmp_path / f"bench-{len(benches)}", count)
        benches.append(bench)
        return bench
    yield make
    for bench in benches:
        bench.stop()


@pytest.fixture
def make_window(qtbot):
    """The real main window on a bench; closing at teardown cancels and waits for every session."""
    from app.board import Board
    from app.discovery_scan import fixed_scan
    from app.main_window import MainWindow
    windows = []

    def make(bench: Bench, *, parallel: int = 4, scan=None, rollout=None, **window_options):
        board = Board(bench.station, bench.keys.trust_store, scan or fixed_scan(bench.addresses), parallel=parallel,
                      options=Options(return_timeout=20), scan_interval_ms=200, rollout=rollout)
        window = MainWindow(board, **window_options)
        window.confirm = lambda title, text: True
        qtbot.addWidget(window)
        window.show()
        board.start()
        windows.append(window)
        return window
    yield make
    for window in windows:
        window.board.cancel_all()
        qtbot.waitUntil(lambda: not window.board.busy, timeout=30000)
        window.close()
