"""Serves a virtual handset on a pseudo-terminal, as a handset's USB modem port does (Linux only).

The port starts in AT mode and answers the 3GPP TS 27.007 identification
commands from the profile, plus the vendor's commands from
`flasher.transport.serial.at.VENDORS` (for ZTE: `AT+ZSERIAL?` gives the
fastboot serial number, `AT+ZDLMODE` reboots to download mode). In download
mode the same line carries fastboot through the link layer, served by
`Handset.serve`; when the handset reboots the port returns to AT mode.

The host opens the pty's slave path (`path`, also linked as `<handset>/serial`);
`unplug` closes the master, which the host sees as a vanished port.
`Faults.line_error_every` damages the line in download mode.
"""

import hashlib
import logging
import os
import random
import select
import threading
import time
import tty

from ..transport.base import Transport
from ..transport.errors import LinkClosed, LinkTimeout
from ..transport.serial import at
from ..transport.serial.link import Link, SessionRestarted
from .handset import Handset

log = logging.getLogger("tsuf.virtual.serial")

MAX_AT_LINE = 256
_WAKE_INTERVAL = 0.2  # how often a waiting read checks that the port is still plugged in
_AT_WRITE_TIMEOUT = 1.0


def imei_for(serialno: str) -> str:
    """A stable, Luhn-valid 15-digit IMEI derived from the serial number."""
    digest = int.from_bytes(hashlib.sha256(serialno.encode()).digest()[:8], "big")
    body = "86" + f"{digest % 10**12:012d}"
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


class FdStream:
    """A file descriptor as the link's byte stream; `stop` makes every wait end."""

    def __init__(self, fd: int, name: str):
        os.set_blocking(fd, False)
        self.fd = fd
        self.name = name
        self.received = 0
        self.stopped = False

    def read(self, max_size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self._check_plugged()
            left = deadline - time.monotonic()
            readable, _, _ = select.select([self.fd], [], [], min(max(left, 0.0), _WAKE_INTERVAL))
            if readable:
                try:
                    data = os.read(self.fd, max_size)
                except BlockingIOError:
                    data = b""
                except OSError as exc:
                    raise LinkClosed(f"{self.name}: {exc.strerror}") from None
                if data:
                    self.received += len(data)
                    return data
            if left <= 0:
                return b""

    def write(self, data: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            self._check_plugged()
            try:
                view = view[os.write(self.fd, view):]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise LinkClosed(f"{self.name}: {exc.strerror}") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkTimeout(f"{self.name}: the host is not reading")
            select.select([], [self.fd], [], min(left, _WAKE_INTERVAL))

    def _check_plugged(self) -> None:
        if self.stopped:
            raise LinkClosed(f"{self.name}: unplugged")


class LineNoise:
    """Damages a byte stream both ways: one error per `every` bytes on average (None: none),
    half of them a flipped bit and half a dropped byte. Seeded, so a failure repeats."""

    def __init__(self, stream, every: int | None, *, seed: int = 0):
        self._stream = stream
        self._random = random.Random(seed)
        self.errors = 0
        self.every = every

    @property
    def every(self) -> int | None:
        return self._every

    @every.setter
    def every(self, every: int | None) -> None:
        self._every = every
        self._until = self._gap() if every else 0

    def read(self, max_size: int, timeout: float) -> bytes:
        return self._damage(self._stream.read(max_size, timeout))

    def write(self, data: bytes, timeout: float) -> None:
        self._stream.write(self._damage(data), timeout)

    def _gap(self) -> int:
        return max(1, int(self._random.expovariate(1 / self._every)))

    def _damage(self, data: bytes) -> bytes:
        if not self._every:
            return data
        if len(data) < self._until:
            self._until -= len(data)
            return data
        out = bytearray()
        offset = 0
        while len(data) - offset >= self._until:
            hit = offset + self._until - 1
            out += data[offset:hit]
            if self._random.random() < 0.5:
                out.append(data[hit] ^ (1 << self._random.randrange(8)))
            offset = hit + 1
            self.errors += 1
            self._until = self._gap()
        out += data[offset:]
        self._until -= len(data) - offset
        return bytes(out)


SERIAL_IDLE = 10.0


class _DeviceLink(Transport):
    """The handset's side of the link; the server owns the pty, so closing keeps it."""

    def __init__(self, link: Link, address: str):
        self.address = address
        self.link = link
        self.restarted = False

    def write(self, data: bytes | memoryview, timeout: float) -> None:
        try:
            self.link.send(data, timeout)
        except SessionRestarted:
            self.restarted = True
            raise

    def read(self, max_size: int, timeout: float) -> bytes:
        try:
            # A host that closed the port is not seen on a pty; silence this long ends the
            # session, so the handset is free for hosts on its other links.
            return self.link.receive(max_size, min(timeout, SERIAL_IDLE))
        except SessionRestarted:
            self.restarted = True
            raise

    def close(self) -> None:
        pass


class HandsetSerialServer:
    def __init__(self, handset: Handset, *, vendor: at.VendorCommands | None = None):
        self.handset = handset
        profile = handset.profile
        self.vendor = vendor or at.vendor_commands(profile.manufacturer) or at.VENDORS["ZTE"]
        self.imei = imei_for(profile.serialno)
        self.mode = "at"
        self.noise: LineNoise | None = None  # the download-mode line, for its error count
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line editing by the kernel: the handset answers itself
        self.path = os.ttyname(self._slave)
        self._stream = FdStream(self._master, f"pty:{self.path}")
        self._echo = True
        self._link_path = handset.root / "serial"
        self._link_path.unlink(missing_ok=True)
        self._link_path.symlink_to(self.path)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"serial-{handset.serialno}")

    @property
    def address(self) -> str:
        return f"serial:{self.path}"

    @property
    def bytes_received(self) -> int:
        return self._stream.received

    def start(self) -> "HandsetSerialServer":
        self._thread.start()
        return self

    def unplug(self) -> None:
        """Close the master side, as pulling the cable does; the host's port fails."""
        if self._stream.stopped:
            return
        self._stream.stopped = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)  # it notices within _WAKE_INTERVAL; then the fd is free to close
        os.close(self._master)

    def stop(self) -> None:
        self.unplug()
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        self._link_path.unlink(missing_ok=True)

    def _run(self) -> None:
        try:
            while True:
                if self.mode == "at":
                    self._serve_at()
                else:
                    self._serve_download()
        except LinkClosed:
            pass

    # -- AT mode ---------------------------------------------------------------

    def _serve_at(self) -> None:
        pending = bytearray()
        while self.mode == "at":
            pending += self._stream.read(MAX_AT_LINE, _WAKE_INTERVAL).replace(b"\n", b"")
            while b"\r" in pending:
                line, _, rest = pending.partition(b"\r")
                pending = bytearray(rest)
                self._answer(line.decode("latin-1"))
            if len(pending) > MAX_AT_LINE:
                pending.clear()  # a modem drops an overlong line

    def _answer(self, line: str) -> None:
        start = line.upper().find("AT")
        if start < 0:
            return  # line noise or a download-mode frame: a modem ignores what is not a command
        command = line[start:].strip()
        if self._echo:
            self._say(command + "\r")
        upper = command.upper()
        profile = self.handset.profile
        answers = {
            "AT": [], "ATE0": [], "ATE1": [],
            "AT+CGMI": [profile.manufacturer], "AT+GMI": [profile.manufacturer],
            "AT+CGMM": [profile.product], "AT+GMM": [profile.product],
            "AT+CGMR": [profile.version_baseband], "AT+GMR": [profile.version_baseband],
            "AT+CGSN": [self.imei], "AT+GSN": [self.imei],
            "ATI": [profile.manufacturer, profile.product, profile.version_baseband],
        }
        if self.vendor.serial_query:
            name = self.vendor.serial_query[2:].rstrip("?")
            answers[self.vendor.serial_query.upper()] = [f"{name}: {profile.serialno}"]
        if upper == self.vendor.download.upper():
            if not self.handset.online:
                self._say("\r\n+CME ERROR: 3\r\n")  # operation not allowed: still rebooting
                return
            self._say("\r\nOK\r\n")
            self.mode = "download"
            return
        if upper not in answers:
            self._say("\r\nERROR\r\n")
            return
        if upper in ("ATE0", "ATE1"):
            self._echo = upper == "ATE1"
        self._say("".join(f"\r\n{text}\r\n" for text in answers[upper]) + "\r\nOK\r\n")

    def _say(self, text: str) -> None:
        try:
            self._stream.write(text.encode("latin-1"), _AT_WRITE_TIMEOUT)
        except LinkTimeout:
            pass  # nobody has the port open: the answer is lost, as on a real modem

    # -- download mode ---------------------------------------------------------

    def _serve_download(self) -> None:
        self.noise = LineNoise(self._stream, None)
        link = _DeviceLink(Link(self.noise, name=f"serial-device:{self.handset.serialno}", device=True),
                           self.address)
        log.info("%s: download mode", self.handset.serialno)
        try:
            while self.handset.online:
                self.noise.every = self.handset.faults.line_error_every  # read per session, so tests can change it
                link.restarted = False
                self.handset.serve(link)
                if not link.restarted:
                    break
        finally:
            self._echo = True
            self.mode = "at"
        if self._stream.stopped:
            raise LinkClosed("unplugged")
