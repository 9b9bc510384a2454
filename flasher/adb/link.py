"""An AdbConnection on a Transport: the codec's bytes moved, each wait bounded by a deadline.

Both ends use it: the host's client and the virtual handset's recovery.
"""

import time

from ..transport.base import Transport
from ..transport.errors import LinkTimeout
from .connection import AdbConnection
from .events import Event


class AdbLink:
    def __init__(self, transport: Transport, connection: AdbConnection):
        self.transport = transport
        self.connection = connection

    @property
    def address(self) -> str:
        return self.transport.address

    def flush(self, timeout: float) -> None:
        """Send what the codec has queued (OKAYs, CLSEs, the next WRTE of a stream)."""
        deadline = time.monotonic() + timeout
        for piece in self.connection.data_to_send():
            self.transport.write(piece, _left(deadline))

    def poll(self, timeout: float) -> Event | None:
        """Flush, then read one message part (a header or a payload); the event it completed, if any.
        For waits that end on something other than an event, such as an OKAY."""
        deadline = time.monotonic() + timeout
        self.flush(timeout)
        event = self.connection.next_event()
        if event is None:
            self.connection.receive_data(self.transport.read(self.connection.read_size, _left(deadline)))
            event = self.connection.next_event()
        return event

    def next_event(self, timeout: float) -> Event:
        """Flush, then read until the peer says something; LinkTimeout if it stays silent."""
        deadline = time.monotonic() + timeout
        while (event := self.poll(_left(deadline))) is None:
            if time.monotonic() >= deadline:
                raise LinkTimeout(f"{self.address}: no ADB message for {timeout:g} s")
        return event

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "AdbLink":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)
