"""The device half of fastboot: command packets in, response packets out.

The virtual handset uses it on every link. It parses commands and frames
responses; what a command does is the handset's business.
"""

import enum
from dataclasses import dataclass

from . import errors
from .packets import MAX_COMMAND, MAX_RESPONSE, encode_data_size


@dataclass(frozen=True)
class Command:
    """`name` is the verb before the first ':' or ' ' (`getvar`, `flash`, `oem`);
    `argument` is the rest, verbatim."""

    name: str
    argument: str

    @property
    def text(self) -> str:
        if not self.argument:
            return self.name
        return f"{self.name} {self.argument}" if self.name in ("oem", "flashing") else f"{self.name}:{self.argument}"


@dataclass(frozen=True)
class DownloadData:
    """A piece of a download; `complete` is set on the piece that ends it."""

    data: bytes | memoryview
    complete: bool


class _State(enum.Enum):
    COMMAND = "waiting for a command"
    RECEIVING = "receiving download data"
    SENDING = "sending upload data"


class DeviceProtocol:
    def __init__(self, *, max_command: int = MAX_COMMAND):
        self.max_command = max_command
        self._state = _State.COMMAND
        self._remaining = 0

    @property
    def expecting_data(self) -> int:
        """Bytes the host still owes in a download (0 when waiting for a command)."""
        return self._remaining if self._state is _State.RECEIVING else 0

    def receive(self, packet: bytes | memoryview) -> Command | DownloadData:
        if self._state is _State.RECEIVING:
            return self._receive_data(packet)
        if self._state is not _State.COMMAND:
            raise errors.UsageError(f"device is {self._state.value}")
        if len(packet) > self.max_command:
            raise errors.CommandTooLong(f"command of {len(packet)} bytes")
        text = bytes(packet).decode("ascii", errors="replace")
        for separator in (":", " "):
            name, found, argument = text.partition(separator)
            if found and name in _VERBS[separator]:
                return Command(name, argument)
        return Command(text, "")

    def okay(self, text: str = "") -> bytes:
        return self._response(b"OKAY", text)

    def fail(self, text: str) -> bytes:
        return self._response(b"FAIL", text)

    def info(self, text: str) -> bytes:
        return self._response(b"INFO", text)

    def start_download(self, size: int) -> bytes:
        """Accept a download of `size` bytes; the host sends them next."""
        self._remaining = size
        self._state = _State.RECEIVING if size else _State.COMMAND
        return b"DATA" + encode_data_size(size).encode()

    def start_upload(self, size: int) -> bytes:
        """Announce `size` bytes; call `sent` as they go out."""
        self._remaining = size
        self._state = _State.SENDING if size else _State.COMMAND
        return b"DATA" + encode_data_size(size).encode()

    def sent(self, count: int) -> None:
        if self._state is not _State.SENDING or count > self._remaining:
            raise errors.UsageError(f"sending {count} bytes outside an upload")
        self._remaining -= count
        if self._remaining == 0:
            self._state = _State.COMMAND

    def _receive_data(self, packet: bytes | memoryview) -> DownloadData:
        if len(packet) > self._remaining:
            raise errors.DataSizeMismatch(
                f"host sent {len(packet) - self._remaining} bytes more than the download's size")
        self._remaining -= len(packet)
        if self._remaining == 0:
            self._state = _State.COMMAND
        return DownloadData(packet, self._remaining == 0)

    def _response(self, status: bytes, text: str) -> bytes:
        if self._state is not _State.COMMAND:
            raise errors.UsageError(f"responding while {self._state.value}")
        return status + text.encode("ascii", errors="replace")[: MAX_RESPONSE - 4]


_VERBS = {
    ":": frozenset({
        "getvar", "download", "flash", "erase", "set_active", "fetch", "upload",
        "create-logical-partition", "delete-logical-partition", "resize-logical-partition",
        "update-super", "snapshot-update", "gsi", "reboot",
    }),
    " ": frozenset({"oem", "flashing"}),
}
