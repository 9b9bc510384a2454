"""The one interface every link offers the protocol: packets out, packets in."""

import abc


class Transport(abc.ABC):
    """A packet link to one fastboot device.

    A packet is what one USB bulk transfer or one TCP frame carries. `read`
    returns at most `max_size` bytes of the next packet; the rest of a longer
    packet is returned by the next read, so memory stays bounded whatever the
    peer claims.
    """

    address: str

    @abc.abstractmethod
    def write(self, data: bytes | memoryview, timeout: float) -> None:
        """Send one packet within `timeout` seconds."""

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
