"""The host side of ADB: connect by address, authenticate, open services, reboot.

    with AdbDevice.open("tcp:192.168.1.20:5555") as device:
        sideload(device, package)              # flasher.adb.sideload

Waiting for a handset's ADB to answer in a state is flasher.discovery.waiting's
`wait_for_adb`.

Recovery's daemon (AOSP minadbd) needs no authentication. Android's adbd does: given
the station's key (host_key.py) the host signs its token, and when the phone does
not know the key yet, sends the public key and waits while the phone's user decides
(`on_prompt` tells the face to say "Allow USB debugging on the phone"). Without a key,
a daemon that asks is refused with AuthRequired.
"""

import logging
import time

from ..errors import FlasherError
from ..transport.base import Transport
from .connection import AdbConnection, Role
from . import packets
from .auth import TOKEN_SIZE
from .errors import AdbProtocolError, AuthRequired, ServiceRefused, Unauthorized
from .events import AuthRequested, Connected, Event, StreamClosed, StreamData, StreamOpened
from .host_key import HostKey
from .link import AdbLink
from .transport import open_adb_transport

HOST_BANNER = "host::features="
RESPONSE_TIMEOUT = 30.0

RECOVERY, SIDELOAD, ANDROID = "recovery", "sideload", "device"
MAX_SHELL_OUTPUT = 64 * 1024
"""More than a property's value; a daemon that keeps writing is cut off there."""
REBOOT_TARGETS = ("", "bootloader", "recovery", "sideload", "sideload-auto-reboot", "fastboot")

log = logging.getLogger("tsuf.adb")


class AdbDevice:
    """A connected ADB daemon: `state` is what its CNXN said ("sideload", "recovery", ...)."""

    def __init__(self, link: AdbLink, peer: Connected):
        self.link = link
        self.peer = peer

    @classmethod
    def open(cls, address: str, *, timeout: float = 5.0, key: HostKey | None = None,
             approval_timeout: float = 0.0, on_prompt=None) -> "AdbDevice":
        """Connect and exchange CNXN within `timeout` seconds (see greet for the key)."""
        return cls.greet(open_adb_transport(address, timeout=timeout), timeout=timeout, key=key,
                         approval_timeout=approval_timeout, on_prompt=on_prompt)

    @classmethod
    def greet(cls, transport: Transport, *, timeout: float = 5.0, key: HostKey | None = None,
              approval_timeout: float = 0.0, on_prompt=None) -> "AdbDevice":
        """Exchange CNXN over a link already open; closes it on failure. A daemon that asks
        to authenticate gets `key`'s signature, then its public key: the phone's user then
        has `approval_timeout` more seconds to allow it (`on_prompt()` is called as the
        phone asks). Unauthorized when they did not; AuthRequired without a key."""
        link = AdbLink(transport, AdbConnection(Role.HOST, HOST_BANNER))
        address = link.address
        deadline = time.monotonic() + timeout
        signed = offered = False
        try:
            link.connection.connect()
            while True:
                try:
                    event = link.next_event(max(deadline - time.monotonic(), 0.001))
                except FlasherError:
                    if offered:
                        raise Unauthorized(f"{address}: the phone has not allowed USB debugging from this "
                                           "computer") from None
                    raise
                if isinstance(event, Connected):
                    break
                if not isinstance(event, AuthRequested):
                    raise AdbProtocolError(f"{address}: expected CNXN, got {event}")
                if event.kind != "AUTH" or key is None:
                    raise AuthRequired(f"{address}: the ADB daemon wants the host to authenticate ({event.kind})")
                if len(event.token) != TOKEN_SIZE:
                    raise AdbProtocolError(f"{address}: the daemon's AUTH token has {len(event.token)} bytes, "
                                           f"not {TOKEN_SIZE}")
                if not signed:  # a phone that knows the key takes its signature
                    link.connection.answer_token(packets.AUTH_SIGNATURE, key.sign(event.token))
                    signed = True
                elif not offered:  # it does not: its user decides, on its screen
                    link.connection.answer_token(packets.AUTH_RSAPUBLICKEY, key.public_payload())
                    offered = True
                    deadline = max(deadline, time.monotonic() + approval_timeout)
                    link.flush(timeout)
                    if on_prompt is not None:
                        on_prompt()
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

    def shell(self, command: str, *, timeout: float = RESPONSE_TIMEOUT) -> str:
        """What `adb shell COMMAND` prints (the legacy shell service), at most MAX_SHELL_OUTPUT bytes."""
        stream = self.open_stream(f"shell:{command}", timeout=timeout)
        output = bytearray()
        deadline = time.monotonic() + timeout
        while len(output) <= MAX_SHELL_OUTPUT:
            event = self.next_event(max(deadline - time.monotonic(), 0.001))
            if isinstance(event, StreamData) and event.local_id == stream:
                output += event.data
            elif isinstance(event, StreamClosed) and event.local_id == stream:
                break
        else:
            self.link.connection.close(stream)
        return output[:MAX_SHELL_OUTPUT].decode("utf-8", errors="replace")

    def getprop(self, name: str, *, timeout: float = RESPONSE_TIMEOUT) -> str:
        """A system property's value ("" when unset), as `adb shell getprop NAME` prints it."""
        return self.shell(f"getprop {name}", timeout=timeout).strip()

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

