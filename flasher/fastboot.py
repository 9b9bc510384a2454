"""A connected fastboot handset: getvar, download, flash, fetch, slots, reboot.

This is where protocol (what bytes mean) meets transport (moving them) and
where deadlines are enforced: each response must come within
`response_timeout`, and each command must finish within its deadline however
many INFO lines the device sends to look busy.
"""

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import sparse
from .capabilities import Capabilities
from .errors import FlasherError
from .protocol import variables
from .protocol.errors import CommandFailed
from .protocol.events import DataReceived, DataStart, Fail, Info, Okay, Text
from .protocol.host import HostProtocol
from .protocol.packets import MAX_DATA
from .transport.address import open_transport
from .transport.base import FileSpan, Transport
from .transfer_rate import human_bytes
from .transport.errors import LinkTimeout

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) as data moves."""

RESPONSE_READ_SIZE = 512
"""Read buffer for responses: above the 256-byte limit so an oversized response is seen,
and a whole USB high-speed packet."""

DATA_CHUNK = 1 << 20
SPAN_CHUNK = 8 << 20
"""File data a link reads and sends itself (TCP) goes in spans this long: fewer frames, and
still several progress steps a second."""
LONG_COMMANDS = ("flash:", "erase:", "update-super:", "snapshot-update")

log = logging.getLogger("tsuf.device")


class ImageTooLarge(FlasherError):
    hint = "Check that the image is meant for this partition and this handset."


class NoSuchPartition(FlasherError):
    hint = "Check the partition name; `tsuf getvar all` lists every partition-size:NAME the handset has."


class NoSuchSlot(FlasherError):
    hint = "Use slot a or b, or 'other' for the slot that is not active."


class NoSlots(FlasherError):
    hint = "This handset has one copy of each partition; flash it without a slot, or use `tsuf update`."


class SwitchIgnored(FlasherError):
    hint = ("The bootloader accepted the slot change but did not make it; it keeps running its "
            "current slot. Its bootloader may not support A/B switching.")


class BootloaderLocked(CommandFailed):
    """The bootloader refused because it is locked."""

    hint = ("The handset's bootloader is locked, so it accepts only the manufacturer's signed updates. "
            "Update it with `tsuf update` and the OEM-signed package (TSUF installs it through recovery), "
            "or unlock the bootloader with `fastboot flashing unlock` if the handset allows it; "
            "unlocking erases all the user's data.")


_SLOT_SUFFIX = re.compile(r"_[a-d]$")  # slots a-d, as slot-count allows
# How bootloaders say it: Qualcomm ABL "Flashing is not allowed in Lock State", MediaTek
# "not allowed in locked state", fastbootd "Flashing is not allowed on locked devices".
_LOCKED = re.compile(r"\b(in|on) lock(ed)? (state|devices?)\b|\b(device|bootloader) is locked\b", re.IGNORECASE)


@dataclass(frozen=True)
class Timeouts:
    """`response`: longest silence; a command's deadline: longest it may run, however many INFO lines come."""

    connect: float = 5.0
    response: float = 30.0
    command: float = 120.0
    long_command: float = 1200.0

    def deadline_for(self, text: str) -> float:
        return self.long_command if text.startswith(LONG_COMMANDS) else self.command


class FastbootDevice:
    def __init__(self, transport: Transport, *, timeouts: Timeouts = Timeouts(),
                 on_message: Callable[[str], None] | None = None, listing: bool = True):
        """`listing=False`: the capability model asks each variable on its own, never the
        whole listing (a connection for one command; capabilities.py says why)."""
        self.transport = transport
        self.address = transport.address
        self.timeouts = timeouts
        self.on_message = on_message
        self._protocol = HostProtocol()
        self._log = device_logger(self.address)
        self._listing = listing
        self._capabilities: Capabilities | None = None

    @classmethod
    def open(cls, address: str, *, timeouts: Timeouts = Timeouts(),
             on_message: Callable[[str], None] | None = None, listing: bool = True) -> "FastbootDevice":
        return cls(open_transport(address, connect_timeout=timeouts.connect),
                   timeouts=timeouts, on_message=on_message, listing=listing)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def capabilities(self) -> Capabilities:
        """What this handset can do, probed on first use and kept for the connection."""
        if self._capabilities is None:
            self._capabilities = Capabilities(self, listing=self._listing)
        return self._capabilities

    # -- variables -------------------------------------------------------

    def getvar(self, name: str) -> str:
        """The value of `name`; CommandFailed if the device does not have it."""
        return self.command(f"getvar:{name}")

    def getvar_optional(self, name: str) -> str | None:
        """The value, or None where the device fails or answers empty (old devices)."""
        try:
            value = self.getvar(name)
        except CommandFailed:
            return None
        return value or None

    def getvar_all(self) -> dict[str, str]:
        lines: list[str] = []
        self.command("getvar:all", on_info=lines.append)
        self._log.debug("getvar:all listed %d line(s)", len(lines))
        found = (variables.split_all_line(line) for line in lines)
        return dict(pair for pair in found if pair is not None)

    def max_download_size(self) -> int:
        size = self.capabilities.max_download_size
        if size is None:
            raise CommandFailed("getvar:max-download-size", "the handset does not say how much it can take")
        return size

    def current_slot(self) -> str | None:
        return self.capabilities.current_slot

    def partition_size(self, partition: str) -> int:
        size = self.capabilities.partition_size(partition)
        if size is None:
            raise CommandFailed(f"getvar:partition-size:{partition}", "the handset does not report this partition")
        return size

    def resolve_partition(self, partition: str, slot: str | None = None) -> str:
        """The on-device name to write: `boot` -> `boot_b` for slot b on an A/B device.

        `slot` is a letter, `other` (the inactive slot), or None (the active slot).
        Names that already carry a slot, and unslotted partitions, stay as they are.
        """
        capabilities = self.capabilities
        # A name with a slot suffix whose size the handset reports is that partition: its
        # has-slot could only say no, so the question is spared (the size is read anyway).
        if slot is None and _SLOT_SUFFIX.search(partition) and capabilities.partition_size(partition) is not None:
            return partition
        # has-slot first: a `no` settles it without asking how many slots there are.
        if not capabilities.has_slot(partition):
            if slot is not None:
                raise NoSuchSlot(f"{partition} has no slots, but slot {slot!r} was asked for")
            return partition
        if slot is None:  # the active copy: has-slot and current-slot say it, as the stock client asks
            slot = capabilities.reported_slot
            if slot is None:
                raise NoSuchSlot(f"{partition} is slotted but the device reports no current slot")
            return f"{partition}_{slot}"
        if not capabilities.slots:
            raise NoSuchSlot(f"{partition} has no slots, but slot {slot!r} was asked for")
        current = capabilities.current_slot
        if current is None:
            raise NoSuchSlot(f"{partition} is slotted but the device reports no current slot")
        if slot == "other":
            slot = capabilities.inactive_slot
        elif slot not in capabilities.slots:
            raise NoSuchSlot(f"{slot!r} is not a slot")
        return f"{partition}_{slot}"

    # -- commands --------------------------------------------------------

    def command(self, text: str, *, on_info: Callable[[str], None] | None = None) -> str:
        """Run a command with no data phase; returns the OKAY text."""
        return self._run(text, on_info=on_info)

    def download(self, size: int, chunks: Iterable[bytes | memoryview | FileSpan], *,
                 progress: Progress | None = None) -> None:
        """Stage `size` bytes, sent from `chunks`, in the device's download buffer.

        A FileSpan goes by `Transport.write_span`, which a link may send without reading it first.
        """
        self._run(f"download:{size:08x}", send=(size, chunks), progress=progress)

    def flash(self, partition: str, image: Path, *, progress: Progress | None = None,
              use_fill: bool = True) -> int:
        """Write an image file (raw or sparse) to `partition`; returns the downloads sent.

        As the AOSP client does, a raw image that fits one download goes as it
        is, so the partition past its last byte stays untouched; larger images
        go as sparse pieces cut to max-download-size (`sparse.plan_transfer`).
        A zero-heavy image also goes sparse when FILL chunks spare the link a
        quarter of its bytes or more, and the time that spares on this link
        outweighs what writing its chunks may cost the device.
        """
        transfer = sparse.plan_transfer(image, self.max_download_size(), use_fill=use_fill,
                                        link_rate=self.transport.link_rate)
        self._check_fits(partition, transfer.written_size)
        total = sum(piece.size for piece in transfer.downloads)
        done = 0
        for piece in transfer.downloads:
            def piece_progress(sent: int, _total: int, base: int = done) -> None:
                if progress:
                    progress(base + sent, total)
            data = piece.spans(SPAN_CHUNK) if self.transport.sends_files else piece.stream(DATA_CHUNK)
            self.download(piece.size, data, progress=piece_progress)
            self.command(f"flash:{partition}")
            done += piece.size
        return len(transfer.downloads)

    def _check_fits(self, partition: str, image_size: int) -> None:
        """Refuse before sending anything when the device says the image cannot fit, or that the
        partition does not exist (it lists the others' sizes but not this one's)."""
        capabilities = self.capabilities
        size = capabilities.partition_size(partition)
        if size is None:
            if capabilities.reports_partition_sizes:
                raise NoSuchPartition(f"the handset has no partition {partition}")
            return  # it reports no sizes at all: the device decides
        if image_size > size:
            raise ImageTooLarge(f"the image is {human_bytes(image_size)}, {partition} holds {human_bytes(size)}")

    def erase(self, partition: str) -> None:
        self.command(f"erase:{partition}")

    def set_active(self, slot: str) -> None:
        """Make `slot` active, and check the handset says so afterwards: some bootloaders answer
        OKAY and change nothing."""
        capabilities = self.capabilities
        if not capabilities.slots:
            raise NoSlots(f"{self.address} has no A/B slots, so there is no slot to make active")
        if slot not in capabilities.slots:
            raise NoSuchSlot(f"{slot!r} is not one of this handset's slots ({', '.join(capabilities.slots)})")
        self.command(f"set_active:{slot}")
        now = capabilities.refresh("current-slot")
        if now is None or variables.parse_slot("current-slot", now) != slot:
            raise SwitchIgnored(f"the handset accepted set_active:{slot} but still reports slot {now or 'none'}")

    def reboot(self, target: str | None = None) -> None:
        """Reboot to the OS, or to `bootloader`, `fastboot` (fastbootd) or `recovery`."""
        self.command("reboot" if target is None else f"reboot-{target}")

    def fetch(self, partition: str, out: BinaryIO, *, offset: int = 0, size: int | None = None,
              progress: Progress | None = None) -> int:
        """Read `size` bytes (default: to the end) of `partition` into `out`."""
        if size is None:
            size = self.partition_size(partition) - offset
        piece_limit = self._fetch_piece_limit()
        done = 0
        while done < size:
            piece = min(piece_limit, size - done)
            def piece_progress(got: int, _total: int, base: int = done) -> None:
                if progress:
                    progress(base + got, size)
            self._run(f"fetch:{partition}:0x{offset + done:08x}:0x{piece:08x}",
                      receive=(piece, out.write), progress=piece_progress)
            done += piece
        if progress:
            progress(done, size)
        return done

    def upload(self, out: BinaryIO, *, limit: int = MAX_DATA) -> int:
        received = [0]

        def sink(data: bytes) -> None:
            received[0] += len(data)
            out.write(data)
        self._run("upload", receive=(limit, sink))
        return received[0]

    def _fetch_piece_limit(self) -> int:
        capabilities = self.capabilities
        for name in ("max-fetch-size", "max-download-size"):
            size = capabilities.size(name)
            if size:
                return max(1, min(size, MAX_DATA))
        return 256 << 20

    # -- the conversation ------------------------------------------------

    def _run(self, text: str, *, send: tuple[int, Iterable[bytes | memoryview | FileSpan]] | None = None,
             receive: tuple[int, Callable[[bytes], object]] | None = None,
             progress: Progress | None = None,
             on_info: Callable[[str], None] | None = None) -> str:
        deadline = time.monotonic() + self.timeouts.deadline_for(text)
        self._log.debug("-> %s", text)
        packet = self._protocol.send_command(
            text, send_size=send[0] if send else None, receive_limit=receive[0] if receive else None)
        self.transport.write(packet, self._timeout(deadline, text))
        while True:
            event = self._protocol.receive(self._read(RESPONSE_READ_SIZE, deadline, text))
            if isinstance(event, Okay):
                self._log.debug("<- OKAY %s", event.text)
                return event.text
            if isinstance(event, Fail):
                self._log.debug("<- FAIL %s", event.text)
                raise (BootloaderLocked if _LOCKED.search(event.text) else CommandFailed)(text, event.text)
            if isinstance(event, (Info, Text)):
                if not on_info:  # a listing (getvar:all) is data for the caller, not news for the log
                    self._log.info("(device) %s", event.text)
                (on_info or self.on_message or _ignore)(event.text)
            elif isinstance(event, DataStart):
                if send:
                    self._send_data(text, send[1], event.size, deadline, progress)
                elif receive:
                    self._receive_data(text, receive[1], event.size, deadline, progress)

    def _send_data(self, text: str, chunks: Iterable[bytes | memoryview | FileSpan], size: int,
                   deadline: float, progress: Progress | None) -> None:
        sent = 0
        for chunk in chunks:
            if sent + len(chunk) > size:
                raise sparse.SourceChangedError(f"{text}: the source gave more than the {size} bytes announced")
            if isinstance(chunk, FileSpan):
                self.transport.write_span(chunk, self._timeout(deadline, text))
            else:
                self.transport.write(chunk, self._timeout(deadline, text))
            self._protocol.data_sent(len(chunk))
            sent += len(chunk)
            if progress:
                progress(sent, size)
        if sent != size:
            raise sparse.SourceChangedError(f"{text}: the source ended after {sent} of {size} bytes")

    def _receive_data(self, text: str, sink: Callable[[bytes], object], size: int,
                      deadline: float, progress: Progress | None) -> None:
        got = 0
        while self._protocol.data_remaining:
            packet = self._read(min(DATA_CHUNK, self._protocol.data_remaining), deadline, text)
            event = self._protocol.receive(packet)
            assert isinstance(event, DataReceived)
            sink(event.data)
            got += len(event.data)
            if progress:
                progress(got, size)

    def _read(self, size: int, deadline: float, text: str) -> bytes:
        try:
            return self.transport.read(size, self._timeout(deadline, text))
        except LinkTimeout:
            self._timeout(deadline, text)  # says "deadline" when that is what ran out
            raise LinkTimeout(f"{self.address}: {text}: no answer for {self.timeouts.response:g} s") from None

    def _timeout(self, deadline: float, text: str) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkTimeout(f"{self.address}: {text} did not finish within its "
                              f"{self.timeouts.deadline_for(text):g} s deadline")
        return min(left, self.timeouts.response)


def device_logger(address: str) -> logging.Logger:
    """The logger of one handset's conversation; per-device logs attach here."""
    return log.getChild(address.replace(".", "_"))


def _ignore(_text: str) -> None:
    pass
