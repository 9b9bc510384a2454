"""A scripted ADB device on loopback TCP: the hostile or well-behaved recovery of host tests.

`script(device)` runs for the first host that connects, on the device half of
the real codec; `device.raw(bytes)` writes anything at all, for mischief.
"""

import socket
import threading

from flasher.adb.connection import AdbConnection, Role
from flasher.adb.events import OpenRequested, StreamData
from flasher.adb.link import AdbLink
from flasher.adb.transport import AdbTcpTransport

SIDELOAD_BANNER = "sideload::ro.product.name=tsuf_zte_ab;ro.product.model=tsuf_zte_ab;features="


class ScriptedAdbDevice:
    def __init__(self, script, *, banner: str = SIDELOAD_BANNER, max_payload: int = 1 << 20,
                 authenticate: bool = False):
        """With `authenticate`, the device answers the host's CNXN with nothing (Android's adbd)."""
        self.script = script
        self.banner, self.max_payload, self.authenticate = banner, max_payload, authenticate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp:127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.error: BaseException | None = None
        self.services: list[str] = []
        self.link: AdbLink | None = None

    def __enter__(self) -> "ScriptedAdbDevice":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the scripted device did not finish"

    def _serve(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        self.sock = sock
        self.link = AdbLink(AdbTcpTransport(sock, "scripted-device"),
                            AdbConnection(Role.DEVICE, self.banner, max_payload=self.max_payload,
                                          authenticate=self.authenticate))
        try:
            self.script(self)
        except BaseException as exc:  # the test reads it
            self.error = exc
        finally:
            self.link.close()

    @property
    def connection(self) -> AdbConnection:
        return self.link.connection

    def event(self, timeout: float = 5.0):
        event = self.link.next_event(timeout)
        self.link.flush(timeout)  # the answers it caused (CNXN, OKAY) go out at once
        return event

    def next_open(self, timeout: float = 5.0) -> OpenRequested:
        """The host's next OPEN, past its CNXN."""
        while not isinstance(event := self.event(timeout), OpenRequested):
            pass
        self.services.append(event.service)
        return event

    def accept(self, request: OpenRequested) -> int:
        stream = self.connection.accept(request)
        self.link.flush(5)
        return stream

    def send(self, stream: int, data: bytes) -> None:
        self.connection.send(stream, data)
        self.link.flush(5)

    def receive(self, stream: int, size: int, timeout: float = 5.0) -> bytes:
        data = b""
        while len(data) < size:
            event = self.event(timeout)
            if isinstance(event, StreamData) and event.local_id == stream:
                data += event.data
        return data

    def finish(self, stream: int, word: bytes) -> None:
        """Write the result, and wait for the host's OKAY for it."""
        self.send(stream, word)
        while self.connection.unacknowledged(stream):
            self.link.poll(5)

    def raw(self, data: bytes) -> None:
        self.link.flush(5)
        self.sock.sendall(data)
