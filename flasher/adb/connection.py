"""One ADB connection as a state machine for either end, without I/O (like h11).

Feed what the link delivers to `receive_data`, take events from `next_event`
(None: more bytes are needed, `read_size` of them at most), and write each piece
`data_to_send` returns as one write: a piece is one header or one payload, which
is how AOSP moves messages over USB, one bulk transfer each.

The rules kept here, for both ends:
- every header's magic is checked, and a payload longer than this side offered
  is refused before it is read (PayloadTooLarge), so memory stays bounded;
- checksums are sent and checked only where they count: on CNXN, and with
  peers older than version 0x01000001;
- streams follow ADB's flow control: one WRTE in flight per stream until the
  peer's OKAY, each cut to the payload size both sides accept; data received
  is acknowledged as it is handed out;
- messages for unknown streams are ignored and unknown commands skipped, as
  AOSP does, so an OKAY or CLSE crossing a close is harmless.
"""

import enum
from collections import deque
from dataclasses import dataclass, field

from . import packets
from .errors import BadChecksum, BadHandshake, PayloadTooLarge
from .events import AuthAnswered, AuthRequested, Connected, Event, OpenRequested, StreamClosed, StreamData, StreamOpened
from .packets import Command

MAX_STREAMS = 64
"""Streams a device keeps open at once; more OPENs are refused."""


class Role(enum.Enum):
    HOST = "host"
    DEVICE = "device"


@dataclass
class _Stream:
    local_id: int
    remote_id: int
    """0 until the device accepts a stream the host opened."""
    outbox: deque = field(default_factory=deque)
    in_flight: bool = False
    closing: bool = False


class AdbConnection:
    """`banner` is this side's CNXN text: "host::features=..." or "sideload::ro.product.name=...;features=...".

    A device made with `authenticate=True` (Android's adbd) answers the host's CNXN with
    nothing: the caller sends `challenge(token)` and calls `authorize()` once the host has
    proven a trusted key (or its user allowed a new one); until then the host's OPENs are dropped.
    """

    def __init__(self, role: Role, banner: str, *, max_payload: int = packets.MAX_PAYLOAD,
                 version: int = packets.VERSION, authenticate: bool = False):
        self._banner = banner.encode("utf-8")
        if len(self._banner) > packets.MAX_PAYLOAD_V1 or not packets.MIN_PAYLOAD <= max_payload <= packets.MAX_PAYLOAD:
            raise ValueError("the banner must fit 4096 bytes and max_payload lie from 256 bytes to 1 MiB")
        self.role, self.max_payload, self.version = role, max_payload, version
        self.peer: Connected | None = None
        self._agreed_version = packets.VERSION_MIN
        self._send_limit = packets.MAX_PAYLOAD_V1
        self._inbox = bytearray()
        self._header: packets.Header | None = None
        self._outgoing: list[bytes] = []
        self._streams: dict[int, _Stream] = {}
        self._next_id = 1
        self._authenticate = authenticate and role is Role.DEVICE
        self.authorized = not self._authenticate

    @property
    def online(self) -> bool:
        return self.peer is not None and self.authorized

    # -- bytes in and out ----------------------------------------------------------

    def receive_data(self, data: bytes | bytearray) -> None:
        self._inbox += data

    @property
    def read_size(self) -> int:
        """How many bytes complete the message part being read (a header or a payload)."""
        wanted = packets.HEADER_SIZE if self._header is None else self._header.length
        return max(wanted - len(self._inbox), 1)

    def data_to_send(self) -> list[bytes]:
        pieces, self._outgoing = self._outgoing, []
        return pieces

    def next_event(self) -> Event | None:
        while (message := self._next_message()) is not None:
            event = self._handle(*message)
            if event is not None:
                return event
        return None

    # -- what the caller asks ----------------------------------------------------------

    def connect(self) -> None:
        """Host: greet the device; its CNXN comes back as a Connected event."""
        if self.role is not Role.HOST:
            raise ValueError("only the host sends the first CNXN")
        self._queue(Command.CNXN, self.version, self.max_payload, self._banner)

    def open(self, service: str) -> int:
        """Host: ask for `service`; StreamOpened or StreamClosed answers. Returns the stream's id."""
        name = service.encode("utf-8") + b"\0"
        if self.role is not Role.HOST or not self.online or len(name) > self._send_limit:
            raise ValueError(f"cannot open {service!r} now")
        local_id = self._new_id()
        self._streams[local_id] = _Stream(local_id, 0)
        self._queue(Command.OPEN, local_id, 0, name)
        return local_id

    def answer_token(self, kind: int, data: bytes) -> None:
        """Host: answer AUTH TOKEN with a SIGNATURE or the RSAPUBLICKEY payload."""
        if self.role is not Role.HOST or kind not in (packets.AUTH_SIGNATURE, packets.AUTH_RSAPUBLICKEY):
            raise ValueError("only a host answers a token, with a signature or its public key")
        self._queue(Command.AUTH, kind, 0, data)

    def challenge(self, token: bytes) -> None:
        """Device: ask the connected host to sign `token`."""
        if not self._authenticate or self.peer is None or self.authorized:
            raise ValueError("no host waits to authenticate")
        self._queue(Command.AUTH, packets.AUTH_TOKEN, 0, token)

    def authorize(self) -> None:
        """Device: the host is trusted; the CNXN that opens the connection goes out."""
        if not self._authenticate or self.peer is None or self.authorized:
            raise ValueError("no host waits to authenticate")
        self.authorized = True
        self._queue(Command.CNXN, self.version, self._send_limit, self._banner)

    def accept(self, request: OpenRequested) -> int:
        """Device: open the stream the host asked for; returns its id."""
        local_id = self._new_id()
        self._streams[local_id] = _Stream(local_id, request.remote_id)
        self._queue(Command.OKAY, local_id, request.remote_id)
        return local_id

    def refuse(self, request: OpenRequested) -> None:
        """Device: no such service here."""
        self._queue(Command.CLSE, 0, request.remote_id)

    def send(self, local_id: int, data: bytes | memoryview) -> None:
        """Queue `data` on an open stream; it leaves a payload at a time as the peer acknowledges."""
        stream = self._streams.get(local_id)
        if stream is None or not stream.remote_id or stream.closing:
            raise ValueError(f"stream {local_id} is not open")
        view = memoryview(data)
        stream.outbox.extend(bytes(view[start:start + self._send_limit])
                             for start in range(0, len(view), self._send_limit))
        self._pump(stream)

    def unacknowledged(self, local_id: int) -> bool:
        """Whether data sent on the stream still waits to go out or for the peer's OKAY."""
        stream = self._streams.get(local_id)
        return stream is not None and (stream.in_flight or bool(stream.outbox))

    def close(self, local_id: int) -> None:
        """Close a stream once what was queued on it has gone out."""
        stream = self._streams.get(local_id)
        if stream is not None:
            stream.closing = True
            self._pump(stream)

    # -- reading messages ------------------------------------------------------------

    def _next_message(self) -> tuple[packets.Header, bytes] | None:
        if self._header is None:
            if len(self._inbox) < packets.HEADER_SIZE:
                return None
            header = packets.parse_header(self._inbox[:packets.HEADER_SIZE])
            if header.length > self.max_payload:
                raise PayloadTooLarge(f"the peer sent a {header.name} of {header.length} bytes; this side "
                                      f"accepts at most {self.max_payload}")
            del self._inbox[:packets.HEADER_SIZE]
            self._header = header
        if len(self._inbox) < self._header.length:
            return None
        header, self._header = self._header, None
        payload = bytes(self._inbox[:header.length])
        del self._inbox[:header.length]
        # A CNXN says its sender's version itself; everything else follows the agreed one, and
        # before any is agreed (an AUTH ahead of CNXN) nobody knows whether it was summed.
        if header.command == Command.CNXN:
            version = header.arg0
        else:
            version = self._agreed_version if self.online else packets.VERSION_SKIP_CHECKSUM
        if version < packets.VERSION_SKIP_CHECKSUM and packets.checksum(payload) != header.checksum:
            raise BadChecksum(f"a {header.name} payload does not match its checksum")
        return header, payload

    def _handle(self, header: packets.Header, payload: bytes) -> Event | None:
        command = header.command
        if command == Command.CNXN:
            return self._on_connect(header, payload)
        if command in (Command.AUTH, Command.STLS):
            return self._on_auth(header, payload)
        if not self.online:
            return None  # AOSP drops everything else before CNXN
        handler = {Command.OPEN: self._on_open, Command.OKAY: self._on_okay, Command.WRTE: self._on_write,
                   Command.CLSE: self._on_close}.get(command)
        return handler(header, payload) if handler else None  # SYNC, or a command from a later version

    def _on_connect(self, header: packets.Header, payload: bytes) -> Connected:
        if header.arg0 < packets.VERSION_MIN:
            raise BadHandshake(f"the peer speaks ADB version 0x{header.arg0:08x}; 0x{packets.VERSION_MIN:08x} "
                               "or later is needed")
        if header.arg1 < packets.MIN_PAYLOAD:
            raise BadHandshake(f"the peer accepts payloads of {header.arg1} bytes; at least "
                               f"{packets.MIN_PAYLOAD} are needed")
        state, properties, features = parse_banner(payload)
        self._streams.clear()  # a CNXN starts the connection over: every stream is gone
        self._agreed_version = min(header.arg0, self.version)
        self._send_limit = min(header.arg1, self.max_payload)
        self.peer = Connected(state, properties, features, self._agreed_version, self._send_limit)
        if self.role is Role.DEVICE:
            self.authorized = not self._authenticate  # a new CNXN authenticates again
            if self.authorized:
                self._queue(Command.CNXN, self.version, self._send_limit, self._banner)
        return self.peer

    def _on_auth(self, header: packets.Header, payload: bytes) -> AuthRequested | AuthAnswered | None:
        if self.role is Role.HOST:
            if header.command == Command.STLS:
                return AuthRequested("STLS")
            return AuthRequested("AUTH", payload) if header.arg0 == packets.AUTH_TOKEN else None
        # A device that asked: a signature or a public key, once the host's CNXN came.
        if (not self._authenticate or self.peer is None or self.authorized or header.command != Command.AUTH
                or header.arg0 not in (packets.AUTH_SIGNATURE, packets.AUTH_RSAPUBLICKEY)):
            return None
        return AuthAnswered(header.arg0, payload)

    def _on_open(self, header: packets.Header, payload: bytes) -> OpenRequested | None:
        if self.role is Role.HOST or len(self._streams) >= MAX_STREAMS:
            self._queue(Command.CLSE, 0, header.arg0)  # the host offers no services
            return None
        if header.arg0 == 0 or header.arg1 != 0:
            return None
        return OpenRequested(header.arg0, payload.rstrip(b"\0").decode("utf-8", errors="replace"))

    def _on_okay(self, header: packets.Header, payload: bytes) -> StreamOpened | None:
        stream = self._streams.get(header.arg1)
        if stream is None or header.arg0 == 0:
            return None
        if not stream.remote_id:
            stream.remote_id = header.arg0  # the first OKAY opens the stream; it acknowledges nothing
            return StreamOpened(stream.local_id)
        if stream.remote_id == header.arg0:
            stream.in_flight = False
            self._pump(stream)
        return None

    def _on_write(self, header: packets.Header, payload: bytes) -> StreamData | None:
        stream = self._streams.get(header.arg1)
        if stream is None or not stream.remote_id or stream.remote_id != header.arg0:
            return None
        self._queue(Command.OKAY, stream.local_id, stream.remote_id)
        return StreamData(stream.local_id, payload)

    def _on_close(self, header: packets.Header, payload: bytes) -> StreamClosed | None:
        stream = self._streams.get(header.arg1)
        # CLSE(0, id) refuses an OPEN; older AOSP also used it for ordinary closes.
        if stream is None or header.arg0 not in (0, stream.remote_id):
            return None
        del self._streams[stream.local_id]
        return StreamClosed(stream.local_id)

    # -- writing messages ------------------------------------------------------------

    def _pump(self, stream: _Stream) -> None:
        if stream.outbox and not stream.in_flight:
            self._queue(Command.WRTE, stream.local_id, stream.remote_id, stream.outbox.popleft())
            stream.in_flight = True
        if stream.closing and not stream.outbox:
            del self._streams[stream.local_id]
            if stream.remote_id:
                self._queue(Command.CLSE, stream.local_id, stream.remote_id)

    def _queue(self, command: int, arg0: int, arg1: int, payload: bytes = b"") -> None:
        # AUTH may cross a CNXN, when nobody knows whether the other side checks: sum it too.
        with_checksum = command in (Command.CNXN, Command.AUTH) or self._agreed_version < packets.VERSION_SKIP_CHECKSUM
        self._outgoing.append(packets.encode_header(command, arg0, arg1, payload, with_checksum=with_checksum))
        if payload:
            self._outgoing.append(payload)

    def _new_id(self) -> int:
        while True:
            local_id, self._next_id = self._next_id, self._next_id % 0xFFFFFFFF + 1
            if local_id not in self._streams:
                return local_id


def parse_banner(payload: bytes) -> tuple[str, dict[str, str], frozenset[str]]:
    """`state::key=value;...;features=a,b` as AOSP's parse_banner reads it."""
    state, _serial, properties_text = (payload.rstrip(b"\0").decode("utf-8", errors="replace").split(":", 2)
                                       + ["", ""])[:3]
    properties = {}
    for item in properties_text.split(";"):
        key, equals, value = item.partition("=")
        if equals and key:
            properties[key] = value
    features = frozenset(name for name in properties.pop("features", "").split(",") if name)
    return state, properties, features
