"""The host half of fastboot as a state machine: commands out, packets in, events out.

No I/O happens here (the transports and flasher.fastboot do that), so every link
shares one implementation of the rules and its bounds: a response is at most
256 bytes, a data phase is exactly what the command allows, INFO cannot go on
forever, and anything else is a named ProtocolError rather than a hang.
"""

import enum
import re

from . import errors
from .events import DataReceived, DataStart, Event, Fail, Info, Okay, Text
from .packets import MAX_COMMAND_AOSP, MAX_DATA, MAX_RESPONSE, decode_text

_DATA_RE = re.compile(rb"DATA([0-9a-fA-F]{8})")


class State(enum.Enum):
    IDLE = "idle"
    AWAIT_RESPONSE = "awaiting response"
    SENDING_DATA = "sending data"
    RECEIVING_DATA = "receiving data"
    BROKEN = "broken"


class DataPhase(enum.Enum):
    NONE = "none"
    SEND = "send"
    RECEIVE = "receive"


class HostProtocol:
    """Tracks one fastboot conversation from the host's side.

    `max_info` bounds the INFO/TEXT lines one command may produce; getvar:all on
    a big device sends a few hundred, a slow flash sends one every few seconds.
    """

    def __init__(self, *, max_command: int = MAX_COMMAND_AOSP, max_info: int = 20_000):
        self.max_command = max_command
        self.max_info = max_info
        self.state = State.IDLE
        self.command_text = ""
        self._phase = DataPhase.NONE
        self._data_limit = 0
        self._data_remaining = 0
        self._info_count = 0

    @property
    def data_remaining(self) -> int:
        """Bytes still to send or receive in the current data phase."""
        return self._data_remaining

    def send_command(self, command: str, *, send_size: int | None = None,
                     receive_limit: int | None = None) -> bytes:
        """Return the packet for `command`.

        `send_size` declares a download of exactly that many bytes; `receive_limit`
        declares an upload or fetch that may bring at most that many bytes.
        """
        self._require(State.IDLE)
        raw = command.encode("ascii", errors="strict")
        if len(raw) > self.max_command:
            raise errors.CommandTooLong(
                f"command is {len(raw)} bytes, the device accepts at most {self.max_command}: {command[:40]}...")
        if send_size is not None and receive_limit is not None:
            raise errors.UsageError("a command has at most one data phase")
        if send_size is not None:
            self._phase, self._data_limit = DataPhase.SEND, send_size
        elif receive_limit is not None:
            self._phase, self._data_limit = DataPhase.RECEIVE, min(receive_limit, MAX_DATA)
        else:
            self._phase, self._data_limit = DataPhase.NONE, 0
        self.command_text = command
        self._info_count = 0
        self.state = State.AWAIT_RESPONSE
        return raw

    def receive(self, packet: bytes) -> Event:
        """Digest one packet from the device and say what it meant."""
        if self.state is State.RECEIVING_DATA:
            return self._receive_data(packet)
        self._require(State.AWAIT_RESPONSE)
        try:
            return self._receive_response(packet)
        except errors.ProtocolError:
            self.state = State.BROKEN
            raise

    def data_sent(self, count: int) -> None:
        """Record that `count` bytes of the download went out."""
        self._require(State.SENDING_DATA)
        if count > self._data_remaining:
            raise errors.UsageError(
                f"sending {count} bytes with only {self._data_remaining} left in the download")
        self._data_remaining -= count
        if self._data_remaining == 0:
            self.state = State.AWAIT_RESPONSE

    def _receive_response(self, packet: bytes) -> Event:
        if len(packet) > MAX_RESPONSE:
            raise errors.ResponseTooLong(
                f"{self.command_text}: device sent a {len(packet)}-byte response "
                f"(at most {MAX_RESPONSE} allowed)")
        status, body = bytes(packet[:4]), bytes(packet[4:])
        if status == b"OKAY":
            self.state = State.IDLE
            return Okay(decode_text(body))
        if status == b"FAIL":
            self.state = State.IDLE
            return Fail(decode_text(body))
        if status in (b"INFO", b"TEXT"):
            self._info_count += 1
            if self._info_count > self.max_info:
                raise errors.TooManyInfo(
                    f"{self.command_text}: device sent more than {self.max_info} INFO lines "
                    "without finishing")
            return Info(decode_text(body)) if status == b"INFO" else Text(decode_text(body))
        if status == b"DATA":
            return self._start_data(packet)
        shown = bytes(packet[:16])
        raise errors.MalformedResponse(
            f"{self.command_text}: device sent an unknown response {shown!r}"
            if packet else f"{self.command_text}: device sent an empty response")

    def _start_data(self, packet: bytes) -> DataStart:
        match = _DATA_RE.fullmatch(bytes(packet))
        if match is None:
            raise errors.MalformedResponse(
                f"{self.command_text}: malformed DATA response {bytes(packet[:16])!r}")
        size = int(match.group(1), 16)
        if self._phase is DataPhase.NONE:
            raise errors.UnexpectedData(
                f"{self.command_text}: device started a {size}-byte data phase "
                "this command does not have")
        if self._phase is DataPhase.SEND:
            if size != self._data_limit:
                raise errors.DataSizeMismatch(
                    f"{self.command_text}: device asked for {size} bytes, "
                    f"the download has {self._data_limit}")
            self.state = State.SENDING_DATA if size else State.AWAIT_RESPONSE
        else:
            if size > self._data_limit:
                raise errors.DataSizeMismatch(
                    f"{self.command_text}: device announced {size} bytes, "
                    f"at most {self._data_limit} were asked for")
            self.state = State.RECEIVING_DATA if size else State.AWAIT_RESPONSE
        self._data_remaining = size
        return DataStart(size)

    def _receive_data(self, packet: bytes) -> DataReceived:
        if len(packet) > self._data_remaining:
            self.state = State.BROKEN
            raise errors.DataSizeMismatch(
                f"{self.command_text}: device sent {len(packet) - self._data_remaining} bytes "
                "more than it announced")
        self._data_remaining -= len(packet)
        if self._data_remaining == 0:
            self.state = State.AWAIT_RESPONSE
        return DataReceived(bytes(packet))

    def _require(self, state: State) -> None:
        if self.state is not state:
            raise errors.UsageError(
                f"protocol is {self.state.value}, not {state.value}"
                + (" (an earlier error broke the connection)" if self.state is State.BROKEN else ""))
