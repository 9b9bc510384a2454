"""`adb sideload`: serve a package to recovery, block by block, in the order it asks.

The host opens `sideload-host:SIZE:BLOCKSIZE`. The handset then writes eight ASCII
digits naming a block (`00000012`); the host answers with that block of the file
(the last one may be short). The handset may ask in any order and more than once.
It ends with `DONEDONE` (installed) or `FAILFAIL` (refused). The package is read
one block at a time, never whole.

Progress counts distinct blocks served; once every block has been served, the
handset may stay silent while it verifies and installs, so the deadline becomes
`install_timeout`.
"""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..transport.errors import LinkTimeout, TransportError
from .client import AdbDevice
from .errors import (BadBlockRequest, PackageUnreadable, ServiceRefused, SideloadCancelled,
                     SideloadInterrupted, SideloadRefused, SideloadTimeout, SideloadUnavailable)
from .events import StreamClosed, StreamData

BLOCK_SIZE = 64 * 1024
MIN_BLOCK_SIZE, MAX_BLOCK_SIZE = 4096, 1 << 20
REQUEST_SIZE = 8
DONE, FAIL = b"DONEDONE", b"FAILFAIL"
SERVICE = "sideload-host"
RESPONSE_TIMEOUT = 30.0
INSTALL_TIMEOUT = 1200.0
ACK_TIMEOUT = 2.0

Progress = Callable[[int, int], None]
log = logging.getLogger("tsuf.adb.sideload")


def service_name(size: int, block_size: int = BLOCK_SIZE) -> str:
    return f"{SERVICE}:{size}:{block_size}"


def block_request(block: int) -> bytes:
    return b"%08d" % block


def block_count(size: int, block_size: int) -> int:
    return math.ceil(size / block_size)


@dataclass(frozen=True)
class SideloadResult:
    blocks_total: int
    blocks_served: int
    """Distinct blocks; equals blocks_total when the handset read the whole package."""
    requests: int
    bytes_sent: int


def sideload(device: AdbDevice, package: Path, progress: Progress | None = None,
             cancel: Callable[[], bool] | None = None, *, block_size: int = BLOCK_SIZE,
             response_timeout: float = RESPONSE_TIMEOUT, install_timeout: float = INSTALL_TIMEOUT) -> SideloadResult:
    """Serve `package` until the handset answers DONEDONE; `progress(blocks_served, blocks_total)`
    after each block; `cancel()` is asked before each block and, when true, drops the link.

    Raises SideloadRefused (FAILFAIL), SideloadUnavailable (not in sideload mode),
    SideloadInterrupted (the link dropped; SideloadTimeout when the handset went silent),
    BadBlockRequest or an AdbProtocolError (a handset breaking the rules), SideloadCancelled
    or PackageUnreadable. Whatever it raises, the device's link is closed, and the handset
    keeps its build unless `served_all` says it had the whole package.
    """
    package = Path(package)
    with device:
        try:
            file = open(package, "rb")
        except OSError as exc:
            raise PackageUnreadable(f"{package}: cannot open ({exc.strerror})") from None
        with file:
            size = _size_of(file, package)
            server = _BlockServer(file, package, size, block_size)
            try:
                try:
                    stream = device.open_stream(service_name(size, block_size), timeout=response_timeout)
                except ServiceRefused:
                    raise SideloadUnavailable(f"{device.address}: the handset ({device.state}) is not in "
                                              "sideload mode") from None
                return _serve(device, stream, server, progress, cancel, response_timeout, install_timeout)
            except LinkTimeout:
                raise SideloadTimeout(f"{device.address}: the handset asked for nothing for "
                                      f"{install_timeout if server.served_all else response_timeout:g} s",
                                      served_all=server.served_all) from None
            except TransportError as exc:
                raise SideloadInterrupted(f"{device.address}: the link dropped during the sideload ({exc})",
                                          served_all=server.served_all) from None


def _serve(device: AdbDevice, stream: int, server: "_BlockServer", progress: Progress | None,
           cancel: Callable[[], bool] | None, response_timeout: float, install_timeout: float) -> SideloadResult:
    pending = bytearray()
    while True:
        event = device.next_event(install_timeout if server.served_all else response_timeout)
        if isinstance(event, StreamClosed) and event.local_id == stream:
            raise SideloadInterrupted(f"{device.address}: the handset ended the sideload without a result",
                                      served_all=server.served_all)
        if not (isinstance(event, StreamData) and event.local_id == stream):
            continue
        pending += event.data
        while len(pending) >= REQUEST_SIZE:
            word = bytes(pending[:REQUEST_SIZE])
            del pending[:REQUEST_SIZE]
            if word in (DONE, FAIL):
                _acknowledge(device)
            if word == DONE:
                log.info("%s: the handset installed %s", device.address, server.package.name)
                return server.result()
            if word == FAIL:
                raise SideloadRefused(f"{device.address}: the handset refused the package: it is not signed for "
                                      "this handset, or not meant for it (another product, an older build)")
            if cancel is not None and cancel():
                raise SideloadCancelled(f"{device.address}: sideload cancelled after {server.served} of "
                                        f"{server.total} blocks")
            device.write(stream, server.block(word, device.address), timeout=response_timeout)
            if progress:
                progress(server.served, server.total)


def _acknowledge(device: AdbDevice) -> None:
    """Let the OKAY for the result go out before the link closes, so recovery is not left
    waiting for it; a handset already gone changes nothing."""
    try:
        device.link.flush(ACK_TIMEOUT)
    except TransportError:
        pass


class _BlockServer:
    """Reads the blocks the handset asks for, and counts them."""

    def __init__(self, file, package: Path, size: int, block_size: int):
        if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block size {block_size} is not between {MIN_BLOCK_SIZE} and {MAX_BLOCK_SIZE}")
        self.file, self.package, self.size, self.block_size = file, package, size, block_size
        self.total = block_count(size, block_size)
        self._seen = bytearray(self.total)
        self.served = self.requests = self.bytes_sent = 0

    @property
    def served_all(self) -> bool:
        return self.served == self.total

    def block(self, word: bytes, address: str) -> bytes:
        if not word.isdigit():
            raise BadBlockRequest(f"{address}: the handset asked for {word!r}, not a block number")
        number = int(word)
        if number >= self.total:
            raise BadBlockRequest(f"{address}: the handset asked for block {number}; the package has "
                                  f"{self.total} blocks of {self.block_size} bytes")
        offset = number * self.block_size
        length = min(self.block_size, self.size - offset)
        self.file.seek(offset)
        data = self.file.read(length)
        if len(data) != length:
            raise PackageUnreadable(f"{self.package} is shorter than when the sideload began")
        self.requests += 1
        self.bytes_sent += length
        if not self._seen[number]:
            self._seen[number] = 1
            self.served += 1
        return data

    def result(self) -> SideloadResult:
        return SideloadResult(self.total, self.served, self.requests, self.bytes_sent)


def _size_of(file, package: Path) -> int:
    size = file.seek(0, 2)
    if size == 0:
        raise PackageUnreadable(f"{package} is empty")
    return size
