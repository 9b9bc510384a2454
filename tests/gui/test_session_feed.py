"""Session events gathered for the GUI: rows keyed by address, progress coalesced, nothing else lost."""

import threading

from app.session_feed import MAX_LINES_PER_BATCH, SessionFeed
from flasher.history.report import Report
from flasher.update.events import Finished, LogLine, Progress, StateChanged


def test_events_are_keyed_by_address_whatever_serial_they_carry():
    feed = SessionFeed()
    emit = feed.emitter("usb:VH1")
    emit(StateChanged("usb:VH1", "connecting"))
    emit(StateChanged("VH000001", "checking"))  # the serial number, once the session has read it
    emit(LogLine("VH000001", "INFO", "preflight passed"))
    for done in range(0, 1001, 100):
        emit(Progress("VH000001", done, 1000))
    emit(Finished(Report("id", "station", "VH000001")))
    batch = feed.drain()
    assert batch.states == [("usb:VH1", "connecting", ""), ("usb:VH1", "checking", "")]
    assert list(batch.progress) == ["usb:VH1"] and batch.progress["usb:VH1"][:2] == (1000, 1000)
    assert [(line.address, line.text) for line in batch.lines] == [("usb:VH1", "preflight passed")]
    assert [address for address, _ in batch.finished] == ["usb:VH1"]
    assert not feed.drain()


def test_many_threads_at_once_lose_nothing_but_extra_progress():
    feed = SessionFeed()

    def session(number: int) -> None:
        emit = feed.emitter(f"tcp:{number}")
        for done in range(500):
            emit(Progress(str(number), done, 499))
            emit(LogLine(str(number), "DEBUG", f"line {done}"))
    threads = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch = feed.drain()
    assert len(batch.lines) == 4000 and all(done == 499 for done, _, _ in batch.progress.values())


def test_a_flood_of_lines_is_capped_per_batch_and_counted():
    feed = SessionFeed()
    for number in range(MAX_LINES_PER_BATCH + 10):
        feed.say("tcp:1", "INFO", str(number))
    batch = feed.drain()
    assert len(batch.lines) == MAX_LINES_PER_BATCH and batch.dropped_lines == 10
