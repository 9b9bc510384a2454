"""The one interface every link offers the protocol: packets out, packets in."""

import abc
from dataclasses import dataclass
from typing import BinaryIO

from .errors import SourceEnded


@dataclass(frozen=True)
class FileSpan:
    """`length` bytes of an open file from `offset`: data a link may send without reading it into an object first."""

    file: BinaryIO
    offset: int
    length: int

    def __len__(self) -> int:
        return self.length

    def read(self) -> bytes:
        self.file.seek(self.offset)
        data = self.file.read(self.length)
        if len(data) != self.length:
            raise SourceEnded(f"{getattr(self.file, 'name', 'the image')} ended at byte "
                              f"{self.offset + len(data)} while being sent")
        return data


class Transport(abc.ABC):
    """A packet link to one fastboot device.

    A packet is what one USB bulk transfer or one TCP frame carries. `read`
    returns at most `max_size` bytes of the next packet; the rest of a longer
    packet is returned by the next read, so memory stays bounded whatever the
    peer claims.
    """

    address: str

    sends_files = False
    """Whether write_span sends file data itself, without reading it into new objects (worth
    cutting data into spans rather than reading it)."""

    link_rate = 35e6
    """Roughly the bytes per second the link carries to a real device, for planning only: whether
    sparing it bytes is worth more device work (sparse.plan_transfer). USB 2.0 high speed unless a
    link says otherwise."""

    @abc.abstractmethod
    def write(self, data: bytes | memoryview, timeout: float) -> None:
        """Send one packet within `timeout` seconds."""

    def write_span(self, span: FileSpan, timeout: float) -> None:
        """Send one packet holding `span`'s bytes within `timeout` seconds."""
        self.write(span.read(), timeout)

    @abc.abstractmethod
    def read(self, max_size: int, timeout: float) -> bytes:
        """Receive up to `max_size` bytes of the next packet within `timeout` seconds."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the link; safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
