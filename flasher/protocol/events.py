"""What the host protocol reports after reading a packet from the device."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Okay:
    """The command succeeded; `text` is its value (getvar) or a message."""

    text: str


@dataclass(frozen=True)
class Fail:
    """The command failed; `text` is the device's reason."""

    text: str


@dataclass(frozen=True)
class Info:
    """A progress line (`INFO`); the command is still running."""

    text: str


@dataclass(frozen=True)
class Text:
    """Raw text to print (`TEXT`, newer devices); the command is still running."""

    text: str


@dataclass(frozen=True)
class DataStart:
    """The device opened a data phase of `size` bytes (`DATA%08x`)."""

    size: int


@dataclass(frozen=True)
class DataReceived:
    """Bytes of an upload or fetch data phase, in the order the device sent them."""

    data: bytes


Event = Okay | Fail | Info | Text | DataStart | DataReceived
