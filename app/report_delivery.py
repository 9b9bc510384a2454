"""Reports to the station's backend, sent in the background while the app runs. No Qt here.

The core's OutboxSender does the sending and retrying; this only starts it
from the settings, wakes it when a report is recorded, and swaps it when the
settings change. Stopping never waits on the GUI thread: a POST in flight may
take the backend's whole timeout, and the outbox keeps what was not sent.
"""

import threading

from flasher.errors import FlasherError
from flasher.history.backend import OutboxSender
from flasher.settings import Settings
from flasher.update.session import Station


class ReportDelivery:
    def __init__(self, station: Station):
        self.station = station
        self.sender: OutboxSender | None = None
        self.problem = ""

    def configure(self, settings: Settings) -> None:
        self.stop()
        self.problem = ""
        try:
            backend = settings.backend()
        except FlasherError as error:
            self.problem = f"{error} ({error.hint})" if error.hint else str(error)
            return
        if backend is None:
            return
        sender = self.sender = OutboxSender(self.station.history, backend).start()
        self.station.on_recorded = lambda report: sender.kick()

    def stop(self) -> None:
        sender, self.sender = self.sender, None
        self.station.on_recorded = lambda report: None
        if sender is not None:
            threading.Thread(target=sender.stop, daemon=True, name="tsuf-outbox-stop").start()

    @property
    def waiting(self) -> int:
        return self.station.history.pending_count() if self.sender else 0
