"""One listing of every handset in reach, from pluggable sources run side by side.

A source is any object with a `name` and a `scan() -> list[FoundDevice]`. A source that
fails (no libusb, say) is reported in `problems` and the others still count.
"""

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from ..errors import FlasherError
from .found import PROBE_TIMEOUT, FoundDevice
from .network_source import NetworkSource
from .usb_source import UsbSource

log = logging.getLogger("tsuf.discovery")


class Source(Protocol):
    name: str

    def scan(self) -> list[FoundDevice]: ...


@dataclass(frozen=True)
class Problem:
    """A source that could not scan, and what to do about it."""

    source: str
    message: str
    hint: str


class SerialSource:
    """Serial ports, through the serial link's own scan (imported only when used)."""

    name = "serial"

    def __init__(self, ports: Sequence[str] = (), *, probe_timeout: float = PROBE_TIMEOUT):
        self._ports, self._probe_timeout = list(ports), probe_timeout

    def scan(self) -> list[FoundDevice]:
        from .serial_source import scan_serial_ports
        return scan_serial_ports(self._ports, probe_timeout=self._probe_timeout)


def default_sources(targets: Sequence[str] = (), *, probe_timeout: float = PROBE_TIMEOUT,
                    serial_ports: Sequence[str] = ()) -> list[Source]:
    """USB, the network `targets`, and serial: the USB serial ports and the `serial_ports` named."""
    return [UsbSource(probe_timeout=probe_timeout), NetworkSource(targets, probe_timeout=probe_timeout),
            SerialSource(serial_ports, probe_timeout=probe_timeout)]


class Scanner:
    def __init__(self, sources: Sequence[Source]):
        self.sources = list(sources)
        self.problems: list[Problem] = []

    def scan(self) -> list[FoundDevice]:
        """Every handset the sources see now, sorted by link and address."""
        if not self.sources:
            return []
        with ThreadPoolExecutor(len(self.sources)) as pool:
            results = list(pool.map(self._scan_one, self.sources))
        self.problems = [result for result in results if isinstance(result, Problem)]
        found = [device for result in results if isinstance(result, list) for device in result]
        return sorted(found, key=lambda device: (device.link, device.address))

    @staticmethod
    def _scan_one(source: Source) -> list[FoundDevice] | Problem:
        try:
            return source.scan()
        except FlasherError as exc:
            return Problem(source.name, str(exc), exc.hint or "")
        except Exception as exc:  # one broken source must not hide the handsets the others see
            log.debug("%s scan crashed", source.name, exc_info=True)
            return Problem(source.name, f"{source.name} scan failed ({type(exc).__name__}: {exc})", "")
