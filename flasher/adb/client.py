"""The host side of ADB for recovery: connect by address, wait for a state, reboot.

    with wait_for_adb("tcp:192.168.1.20:5555", "sideload", timeout=60) as device:
        sideload(device, package)              # flasher.adb.sideload

Recovery's daemon (AOSP minadbd) needs no authentication; a daemon that asks for it
is Android's own and is refused with AuthRequired.
"""

import logging
import time

from ..errors import FlasherError
from ..transport.base import Transport
from .connection import AdbConnection, Role
from .errors import AdbProtocolError, AuthRequired, NotInState, ServiceRefused
from .events import AuthRequested, Connected, Event, StreamClosed, StreamOpened
from .link import AdbLink
from .transport import open_adb_transport

HOST_BANNER = "host::features="
RESPONSE_TIMEOUT = 30.0
POLL = 0.2
PROBE_TIMEOUT = 1.0

RECOVERY, SIDELOAD = "recovery", "sideload"
REBOOT_TARGETS = ("", "bootloader", "recovery", "sideload", "sideload-auto-reboot", "fastboot")

log = logging.getLogger("tsuf.adb")


class AdbDevice:
    """A connected ADB daemon: `state` is what its CNXN said ("sideload", "recovery", ...)."""

    def __init__(self, link: AdbLink, peer: Connected):
        self.link = link
        self.peer = peer

    @classmethod
    def open(cls, address: str, *, timeout: float = 5.0) -> "AdbDevice":
        """Connect and exchange CNXN, all within `timeout` seconds."""
        return cls.greet(open_adb_transport(address, timeout=timeout), timeout=timeout)

    @classmethod
    def greet(cls, transport: Transport, *, timeout: float = 5.0) -> "AdbDevice":
        """Exchange CNXN over a link already open; closes it on failure."""
        link = AdbLink(transport, AdbConnection(Role.HOST, HOST_BANNER))
        address = link.address
        try:
            link.connection.connect()
            event = link.next_event(timeout)
            if isinstance(event, AuthRequested):
                raise AuthRequired(f"{address}: the ADB daemon wants the host to authenticate ({event.kind})")
            if not isinstance(event, Connected):
                raise AdbProtocolError(f"{address}: expected CNXN, got {event}")
        except BaseException:
            link.close()
            raise
        log.debug("%s: ADB %s, %s", address, event.state, event.properties)
        return cls(link, event)

    @property
    def address(self) -> str:
        return self.link.address

    @property
    def state(self) -> str:
        return self.peer.state

    @property
    def product(self) -> str:
        return self.peer.properties.get("ro.product.name", "")

    def open_stream(self, service: str, *, timeout: float = RESPONSE_TIMEOUT) -> int:
        """Open `service`; ServiceRefused if the daemon has none by that name in its state."""
        local_id = self.link.connection.open(service)
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(max(deadline - time.monotonic(), 0.001))
            if isinstance(event, StreamOpened) and event.local_id == local_id:
                return local_id
            if isinstance(event, StreamClosed) and event.local_id == local_id:
                raise ServiceRefused(f"{self.address}: the handset ({self.state}) refused {service.split(':')[0]}")

    def write(self, stream: int, data: bytes, *, timeout: float = RESPONSE_TIMEOUT) -> None:
        """Send `data` on an open stream; what the peer has not yet acknowledged follows as it does."""
        self.link.connection.send(stream, data)
        self.link.flush(timeout)

    def next_event(self, timeout: float) -> Event:
        """The next event; a daemon that restarts and asks for authentication ends the connection."""
        event = self.link.next_event(timeout)
        if isinstance(event, AuthRequested):
            raise AuthRequired(f"{self.address}: the ADB daemon wants the host to authenticate ({event.kind})")
        return event

    def reboot(self, target: str = "", *, timeout: float = 5.0) -> None:
        """`adb reboot [TARGET]`: "" (the OS), bootloader, recovery, sideload, fastboot.
        The connection ends with it."""
        if target not in REBOOT_TARGETS:
            raise ValueError(f"reboot target {target!r} is not one of {REBOOT_TARGETS}")
        try:
            self.open_stream(f"reboot:{target}", timeout=timeout)
        finally:
            self.close()

    def reboot_to_sideload(self, *, timeout: float = 5.0) -> None:
        self.reboot(SIDELOAD, timeout=timeout)

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> "AdbDevice":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def wait_for_adb(address: str, state: str | tuple[str, ...] = SIDELOAD, *, timeout: float,
                 poll: float = POLL) -> AdbDevice:
    """Connect to `address` once its ADB answers in `state` (one or several), polling
    until `timeout` seconds have passed; NotInState says what was seen instead."""
    wanted = (state,) if isinstance(state, str) else tuple(state)
    deadline = time.monotonic() + timeout
    states: list[str] = []
    failure = "nothing answered"
    while True:
        try:
            device = AdbDevice.open(address, timeout=min(PROBE_TIMEOUT, max(deadline - time.monotonic(), 0.05)))
        except FlasherError as exc:
            failure = str(exc)
        else:
            if device.state in wanted:
                return device
            states.append(device.state)
            device.close()
        if time.monotonic() + poll >= deadline:
            seen = f"the handset answered in state {states[-1]!r}" if states else failure
            raise NotInState(f"{address}: no handset in {' or '.join(wanted)} within {timeout:g} s ({seen})")
        time.sleep(poll)
