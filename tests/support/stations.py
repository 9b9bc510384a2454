"""A station of the tests: its history, logs and journal in one folder."""

from pathlib import Path

from flasher.history.store import HistoryStore
from flasher.update.journal import Journal
from flasher.update.session import Station


def bench_station(folder: Path) -> Station:
    return Station("bench-1", HistoryStore(folder / "history.sqlite"), folder / "logs", Journal(folder / "journal"))
