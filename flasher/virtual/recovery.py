"""The virtual handset's recovery: the ADB daemon it runs in recovery and sideload mode.

Like AOSP's minadbd it asks for no authentication; its CNXN banner says its state
("recovery::..." or "sideload::...") and offers these services:

- `reboot:` and `reboot:TARGET` (bootloader, recovery, sideload, sideload-auto-reboot,
  fastboot): OKAY, close, reboot;
- in sideload mode, `sideload-host:SIZE:BLOCKSIZE`: the handset asks the host for the
  package block by block (eight ASCII digits per request), checks and installs it
  (sideload_install.py), then writes DONEDONE and reboots into the new build, or
  writes FAILFAIL and stays in sideload mode for another attempt;
- nothing else: `sideload:` (pre-KitKat clients), `shell:` and the rest are refused
  (CLSE), which the host reports as a missing service.

If the host goes away mid-sideload (the link drops, it sends a new CNXN or closes
the stream, or stays silent for DATA_TIMEOUT), nothing is installed and the
handset stays in sideload mode.
"""

import logging

from ..adb.connection import AdbConnection, Role
from ..adb.errors import AdbError
from ..adb.events import Connected, OpenRequested, StreamClosed, StreamData
from ..adb.link import AdbLink
from ..adb.sideload import DONE, FAIL, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, SERVICE, block_request
from ..transport.base import Transport
from ..transport.errors import TransportError
from .handset import DATA_TIMEOUT, IDLE_TIMEOUT, Handset, Mode
from .sideload_install import InstallFailed, SideloadInstall

log = logging.getLogger("tsuf.virtual.recovery")

REBOOT_TARGETS = {"": Mode.ANDROID, "bootloader": Mode.BOOTLOADER, "recovery": Mode.RECOVERY,
                  "sideload": Mode.SIDELOAD, "sideload-auto-reboot": Mode.SIDELOAD, "fastboot": Mode.FASTBOOTD}


class AdbSessionEnded(Exception):
    """The handset leaves an ADB conversation: it reboots, or the link dropped."""


def reboot_if_asked(handset: Handset, adb: AdbLink, request: OpenRequested) -> None:
    """Serve `reboot:TARGET` as adbd does: accept, close, then go down (ends the session)."""
    name, _, argument = request.service.partition(":")
    if name == "reboot" and argument in REBOOT_TARGETS:
        adb.connection.close(adb.connection.accept(request))
        adb.flush(DATA_TIMEOUT)
        handset._begin_reboot(REBOOT_TARGETS[argument])
        raise AdbSessionEnded(f"rebooting to {argument or 'the OS'}")



class _HostLeft(Exception):
    """The host abandoned the sideload but the link is still up (a new CNXN, a closed stream)."""


def banner(handset: Handset) -> str:
    product = handset.profile.product
    return (f"{handset.mode.value}::ro.product.name={product};ro.product.model={product};"
            f"ro.product.device={product};features=")


class RecoverySession:
    """One host connection to recovery's ADB daemon."""

    def __init__(self, handset: Handset, link: Transport):
        self.handset = handset
        self.adb = AdbLink(link, AdbConnection(Role.DEVICE, banner(handset)))
        self._log = log.getChild(handset.serialno)

    def run(self) -> None:
        try:
            while self.handset.adb_online:
                event = self.adb.next_event(IDLE_TIMEOUT)
                if isinstance(event, OpenRequested):
                    self._open(event)
        except (AdbSessionEnded, TransportError, AdbError) as exc:
            self._log.debug("ADB session ended: %s", exc)
        except Exception:  # a handset bug ends the session, never the server
            self._log.exception("recovery session crashed")
        finally:
            self.adb.close()

    def _open(self, request: OpenRequested) -> None:
        connection = self.adb.connection
        name, _, argument = request.service.partition(":")
        reboot_if_asked(self.handset, self.adb, request)
        sizes = _sideload_arguments(argument) if name == SERVICE else None
        if sizes is None or self.handset.mode is not Mode.SIDELOAD:
            connection.refuse(request)
            return
        self._sideload(connection.accept(request), *sizes)

    def _sideload(self, stream: int, size: int, block_size: int) -> None:
        handset = self.handset
        try:
            manifest = SideloadInstall(handset).run(size, block_size, _HostBlocks(self, stream, size, block_size))
        except InstallFailed as exc:
            handset._note(f"recovery: package refused: {exc}")
            self._finish(stream, FAIL)
            return
        except _HostLeft as exc:
            handset._note(f"recovery: sideload abandoned, nothing installed: {exc}")
            self.adb.connection.close(stream)  # if the host has not closed it already
            return
        except (AdbSessionEnded, TransportError, AdbError) as exc:
            handset._note(f"recovery: sideload abandoned, nothing installed: {exc}")
            raise AdbSessionEnded("the link dropped mid-sideload") from None
        handset._note(f"recovery: installed {manifest.build}; rebooting")
        self._finish(stream, DONE)
        handset._begin_reboot(Mode.ANDROID)
        raise AdbSessionEnded("installed; rebooting")

    def _finish(self, stream: int, word: bytes) -> None:
        """Write the result and close the stream once the host has acknowledged it: a socket
        closed with the host's OKAY unread could be reset before the result arrives. A host
        that leaves once it has the result changes nothing."""
        connection = self.adb.connection
        try:
            connection.send(stream, word)
            while connection.unacknowledged(stream):
                if isinstance(self.adb.poll(DATA_TIMEOUT), StreamClosed):
                    return
            connection.close(stream)
            self.adb.flush(DATA_TIMEOUT)
        except (TransportError, AdbError) as exc:
            self._log.debug("the host left after the result: %s", exc)


class _HostBlocks:
    """Asks the host for one block at a time on the sideload stream."""

    def __init__(self, session: RecoverySession, stream: int, size: int, block_size: int):
        self.session, self.stream, self.size, self.block_size = session, stream, size, block_size

    def __call__(self, block: int) -> bytes:
        adb, faults = self.session.adb, self.session.handset.faults
        adb.connection.send(self.stream, block_request(block))
        wanted = min(self.block_size, self.size - block * self.block_size)
        data = bytearray()
        while len(data) < wanted:
            event = adb.next_event(DATA_TIMEOUT)
            if isinstance(event, StreamData) and event.local_id == self.stream:
                if faults.drop_point(len(event.data)) is not None:
                    raise AdbSessionEnded("fault: link dropped mid-sideload")
                data += event.data
                if len(data) > wanted:
                    raise _HostLeft(f"the host sent {len(data)} bytes for block {block} of {wanted}")
            elif isinstance(event, StreamClosed) and event.local_id == self.stream:
                raise _HostLeft("the host closed the sideload")
            elif isinstance(event, Connected):
                raise _HostLeft("the host started a new connection")
            elif isinstance(event, OpenRequested):
                adb.connection.refuse(event)  # one sideload at a time
        return bytes(data)


def _sideload_arguments(argument: str) -> tuple[int, int] | None:
    """SIZE:BLOCKSIZE as decimal numbers, the block size a power of two AOSP's range allows."""
    size_text, _, block_text = argument.partition(":")
    if not all(text.isascii() and text.isdigit() and len(text) <= 20 for text in (size_text, block_text)):
        return None
    size, block_size = int(size_text), int(block_text)
    if size == 0 or not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE or block_size & (block_size - 1):
        return None
    return size, block_size
