"""What an AdbConnection reports after reading messages from its peer."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Connected:
    """The peer's CNXN: its state ("sideload", "recovery", "host", ...) and what was agreed."""

    state: str
    properties: dict[str, str] = field(default_factory=dict)
    features: frozenset[str] = frozenset()
    version: int = 0
    max_payload: int = 0


@dataclass(frozen=True)
class AuthRequested:
    """The daemon wants the host to authenticate: `kind` is "AUTH" (RSA; `token` is what to sign)
    or "STLS" (TLS)."""

    kind: str
    token: bytes = b""


@dataclass(frozen=True)
class AuthAnswered:
    """Device: the host answered AUTH TOKEN with a SIGNATURE or its RSAPUBLICKEY (`kind`, packets.AUTH_*)."""

    kind: int
    data: bytes


@dataclass(frozen=True)
class OpenRequested:
    """The host asks the device for `service`; answer with accept() or refuse()."""

    remote_id: int
    service: str


@dataclass(frozen=True)
class StreamOpened:
    """The device accepted a stream this side opened."""

    local_id: int


@dataclass(frozen=True)
class StreamData:
    """Bytes the peer wrote on a stream, in order; already acknowledged."""

    local_id: int
    data: bytes


@dataclass(frozen=True)
class StreamClosed:
    """The peer closed a stream, or refused one this side was opening."""

    local_id: int


Event = Connected | AuthRequested | AuthAnswered | OpenRequested | StreamOpened | StreamData | StreamClosed
