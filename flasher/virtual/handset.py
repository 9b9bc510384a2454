"""The virtual handset: a fastboot device with A/B slots stored on disk.

It is link-agnostic: `serve` runs one host session over any Transport (the TCP
server wraps accepted sockets; other links plug in the same way). Its modes
follow a real handset's: the bootloader and fastbootd answer fastboot; recovery
and sideload answer ADB (`serve_adb`, see recovery.py); while it reboots or
boots it is offline. Its family (families/) decides what it says and what its
work costs (the reference family's commands are in commands.py); the reference
family, having no Android userspace, returns to the bootloader after
`Timing.android` seconds, the way a bench handset with a reboot-to-bootloader
test hook does. The real families stay in the Android
they booted: boot completes after `Timing.boot_complete` seconds, and only
then is the slot marked successful (update_verifier and the boot control HAL);
with USB debugging on, Android's adbd answers ADB there (android_adbd.py).
"""

import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..errors import FlasherError
from ..protocol.device import Command, DeviceProtocol, DownloadData
from ..protocol.errors import ProtocolError
from ..protocol.packets import MAX_COMMAND
from ..transport.base import Transport
from ..transport.errors import TransportError
from . import lock, power_on, slots
from .faults import Faults
from .imaging import Written, write_image
from .profile import DeviceProfile
from .storage import PartitionStorage
from .usb_debugging import Debugging, UsbDebugging
from .verified_boot import VerifiedBoot

log = logging.getLogger("tsuf.virtual")

IDLE_TIMEOUT = 3600.0
NO_BUILD = "none"
DATA_TIMEOUT = 30.0
PIECE = 1 << 20


class Mode(enum.Enum):
    BOOTLOADER = "bootloader"
    FASTBOOTD = "fastbootd"
    RECOVERY = "recovery"
    SIDELOAD = "sideload"
    ANDROID = "android"
    REBOOTING = "rebooting"


@dataclass(frozen=True)
class Timing:
    """Seconds each phase of a reboot takes."""

    reboot: float = 0.2
    boot: float = 0.3
    android: float = 0.5
    boot_complete: float = 0.3
    """From the kernel's start to sys.boot_completed, on families that stay in Android."""


class _EndSession(Exception):
    """The handset leaves the conversation (reboot, dropped link)."""


class Handset:
    def __init__(self, profile: DeviceProfile, root: Path, *, faults: Faults | None = None,
                 timing: Timing = Timing(), start_mode: Mode | None = None, family=None,
                 usb_debugging: Debugging = Debugging.OFF):
        """`family` (a families.Family) overrides the profile's family name; `start_mode`
        defaults to the family's (fastbootd powers on in fastbootd). `usb_debugging` is the
        phone's developer setting: adbd in Android, and how its user answers a new key."""
        from .families import family_named  # the families build on this module
        self.family = family if family is not None else family_named(profile.family)
        profile = self.family.fit(profile)
        start_mode = start_mode or self.family.start_mode
        if start_mode not in START_MODES:
            raise ValueError(f"a handset powers on into {', '.join(m.value for m in START_MODES)}")
        self.profile = profile
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.storage = PartitionStorage(self.root, profile)
        self.slot_store = slots.SlotStore(self.root / "slots.json")
        self.meta = self.slot_store.load()
        self.faults = faults or Faults()
        self.refused: deque[str] = deque(maxlen=1000)
        """The latest commands this handset answered with FAIL, for a bench to see what a host asked in vain."""
        self.lock_store = lock.LockStore(self.root / "lock.json", profile.unlocked)
        self.unlocked = self.lock_store.load()
        self.verified_boot = VerifiedBoot(self.storage, profile.oem_public_key)
        self.family.prepare(self)
        self.usb_debugging = UsbDebugging(self.root / "adb_keys", usb_debugging)
        self.boot_completed = False
        self._booted: tuple[str, int] | None = None  # the slot Android runs, its rollback index
        self.slot_builds: dict[str, str] = {}
        running = self.verified_boot.check_slot(self.running_slot) if self.verified_boot.enabled else None
        if running and running.ok:
            self.slot_builds[self.running_slot] = running.build
        self.timing = timing
        self.mode = start_mode
        self.boot_log: list[str] = []
        self._staged_size = 0
        self.volatile: dict[str, str] = {}
        """What the running firmware keeps in RAM (barebox's environment): lost at every reboot."""
        self._buffer_filled = False  # a download since power-on: the RAM buffer holds its bytes
        self._session_lock = threading.Lock()
        self._mode_changed = threading.Condition()
        self._timer: threading.Timer | None = None
        self._log = log.getChild(profile.serialno)

    @property
    def serialno(self) -> str:
        return self.profile.serialno

    @property
    def running_slot(self) -> str:
        """The active slot, or "" on a handset without slots."""
        return self.meta.active if self.profile.slot_count == 2 else ""

    @property
    def online(self) -> bool:
        return self.mode in (Mode.BOOTLOADER, Mode.FASTBOOTD)

    @property
    def adb_online(self) -> bool:
        """In recovery or sideload mode, or in Android with USB debugging on: it answers ADB."""
        return self.mode in (Mode.RECOVERY, Mode.SIDELOAD) or self.android_adb_online

    @property
    def android_adb_online(self) -> bool:
        return self.mode is Mode.ANDROID and self.usb_debugging.enabled and not self.family.returns_from_os

    @property
    def running_build(self) -> str:
        """The build the running slot holds ("none" while no verified build has booted)."""
        return self.slot_builds.get(self.running_slot) or NO_BUILD

    def wait_for_mode(self, mode: Mode, timeout: float) -> bool:
        with self._mode_changed:
            return self._mode_changed.wait_for(lambda: self.mode is mode, timeout)

    def wait_until_idle(self, timeout: float) -> bool:
        """True once no host session is being served (a stalled command has finished)."""
        if not self._session_lock.acquire(timeout=timeout):
            return False
        self._session_lock.release()
        return True

    def shutdown(self) -> None:
        if self._timer:
            self._timer.cancel()

    # -- a host session ------------------------------------------------------

    def serve(self, link: Transport) -> None:
        """Answer commands on `link` until the host leaves or the handset reboots."""
        with self._session_lock:
            protocol = DeviceProtocol()
            try:
                while self.online:
                    packet = link.read(MAX_COMMAND, IDLE_TIMEOUT)
                    command = protocol.receive(packet)
                    assert isinstance(command, Command)
                    self._dispatch(command, protocol, link)
            except (_EndSession, TransportError, ProtocolError) as exc:
                self._log.debug("session ended: %s", exc)
            except Exception:  # a handset bug ends the session, never the server
                self._log.exception("session crashed")
            finally:
                link.close()

    def serve_adb(self, link: Transport) -> None:
        """Answer ADB on `link`: recovery's (recovery.py), or in Android adbd's (android_adbd.py)."""
        from .android_adbd import AndroidAdbSession  # both build on this module
        from .recovery import RecoverySession
        with self._session_lock:
            if self.android_adb_online:
                AndroidAdbSession(self, link).run()
            else:
                RecoverySession(self, link).run()

    def _dispatch(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        self._log.debug("<- %s", command.text)
        if self.faults.take_drop_on(command.text):
            raise _EndSession(f"fault: link dropped on {command.text}")
        stall = self.faults.stall_for(command.text)
        if stall:
            time.sleep(stall)
        garbage = self.faults.garbage(command.text)
        if garbage is not None:
            link.write(garbage, DATA_TIMEOUT)
            return
        failure = self.faults.failure_for(command.text)
        if failure is not None:
            link.write(protocol.fail(failure), DATA_TIMEOUT)
            return
        family = self.family.in_mode(self.mode)
        self.spend(family.costs.command)
        handler = family.route(command)
        try:
            if handler is None:
                raise Refused(family.unknown_command(command))
            handler(self, command, protocol, link)
        except (TransportError, ProtocolError):
            raise
        except FlasherError as exc:  # a refused command; the session goes on
            self.refused.append(command.text)
            link.write(protocol.fail(str(exc)), DATA_TIMEOUT)

    def receive_download(self, size: int, protocol: DeviceProtocol, link: Transport, *,
                         keep_stale: bool = False) -> None:
        """Answer DATA and stage `size` bytes. With `keep_stale` the buffer keeps what earlier
        downloads left past the new image, as a bootloader's RAM buffer does."""
        self._staged_size = 0
        link.write(protocol.start_download(size), DATA_TIMEOUT)
        path = self.storage.download_path()
        stale = keep_stale and self._buffer_filled and path.exists()
        self._buffer_filled = True
        with open(path, "r+b" if stale else "wb") as staged:
            while protocol.expecting_data:
                piece = protocol.receive(link.read(min(PIECE, protocol.expecting_data), DATA_TIMEOUT))
                assert isinstance(piece, DownloadData)
                keep = self.faults.drop_point(len(piece.data))
                if keep is not None:
                    staged.write(piece.data[:keep])
                    raise _EndSession("fault: link dropped mid-download")
                staged.write(piece.data)
        self._staged_size = size

    def write_staged(self, stem: str, *, consume: bool = True) -> None:
        """Write the staged download into `stem` and spend the family's write time. Most
        devices consume the download; U-Boot keeps its image size (`consume=False`)."""
        if stem in self.faults.discard_flash:
            self._staged_size = 0  # the lie verification must catch
            return
        with self.storage.open_for_write(stem) as target:
            self.write_staged_into(target, self.storage.size(stem), consume=consume)
        self._log.info("flashed %s", stem)

    def write_staged_into(self, target, size: int, *, consume: bool = True) -> None:
        """Write the staged download into an open partition (a file, or a logical partition's
        extents) of `size` bytes, push it to disk and spend the family's write time."""
        with open(self.storage.download_path(), "rb") as staged:
            written = write_image(staged, self._staged_size, target, size, raw_block=self.family.raw_block)
        self.storage.fsync_file(target)
        if consume:
            self._staged_size = 0
        self.spend_writing(written)

    @property
    def staged_size(self) -> int:
        return self._staged_size

    def spend(self, seconds: float) -> None:
        """Take `seconds` of the device's own time, scaled by the profile's cost_scale."""
        if seconds and self.profile.cost_scale:
            time.sleep(seconds * self.profile.cost_scale)

    def spend_writing(self, written: Written) -> None:
        self.spend(self.family.costs.seconds_to_write(written.size, written.chunks))

    # -- reboots and the boot sequence -----------------------------------------

    def _begin_reboot(self, destination: Mode) -> None:
        """Leave fastboot: RAM is lost, and after the reboot the handset is in `destination`
        (ANDROID: it boots a slot, or stops in the bootloader when none boots)."""
        self.volatile.clear()
        self._buffer_filled = False
        self.boot_completed, self._booted = False, None
        self._set_mode(Mode.REBOOTING)
        if destination is Mode.ANDROID:
            self._after(self.timing.reboot + self.timing.boot, self._boot_os)
        else:
            self._after(self.timing.reboot, lambda: self._set_mode(destination))

    def _boot_os(self) -> None:
        try:
            booted = power_on.boot_slots(self)
        except Exception:  # a handset bug must not leave it rebooting forever
            self._log.exception("boot crashed")
            booted = None
        if booted is None:
            self._set_mode(Mode.BOOTLOADER)  # no bootable slot: bootloaders stop in fastboot
        elif self.family.returns_from_os:
            self._enter(Mode.ANDROID, then=Mode.BOOTLOADER, after=self.timing.android)
        else:
            self._set_mode(Mode.ANDROID)  # a phone stays in the OS it booted
            self._after(self.timing.boot_complete, self._complete_boot)

    def _complete_boot(self) -> None:
        """sys.boot_completed: update_verifier has checked the slot and the boot control marks
        it successful; only now does the stored rollback index rise."""
        if self.mode is Mode.ANDROID:
            power_on.mark_booted_successful(self)

    # -- the factory -------------------------------------------------------------

    def factory_flash(self, images: dict[str, Path], slot: str = "a") -> str | None:
        """Program a slot straight into storage, as the factory line does, make it active
        and boot it once; returns the slot that booted. The handset stays in the bootloader."""
        slotted = self.profile.slot_count == 2
        for partition, path in images.items():
            if self.family.factory_write(self, partition, slot, path):
                continue
            stem = f"{partition}_{slot}" if slotted else partition
            with open(path, "rb") as image, self.storage.open_for_write(stem) as target:
                write_image(image, path.stat().st_size, target, self.storage.size(stem))
        if slotted:
            self._save(slots.set_active(self.meta, slot, self.profile.max_retry_count))
        booted = power_on.boot_slots(self)
        power_on.mark_booted_successful(self)  # the factory lets its first boot complete
        self._booted = None
        return booted

    def _note(self, event: str) -> None:
        self.boot_log.append(event)
        self._log.info("boot: %s", event)

    def _enter(self, mode: Mode, *, then: Mode, after: float) -> None:
        self._set_mode(mode)
        self._after(after, lambda: self._set_mode(then))

    def _after(self, seconds: float, action) -> None:
        self._timer = threading.Timer(seconds, action)
        self._timer.daemon = True
        self._timer.start()

    def _set_mode(self, mode: Mode) -> None:
        with self._mode_changed:
            self.mode = mode
            self._mode_changed.notify_all()

    def _save(self, meta) -> None:
        self.slot_store.save(meta)
        self.meta = meta


class Refused(FlasherError):
    """A command the handset answers with FAIL."""


START_MODES = (Mode.BOOTLOADER, Mode.FASTBOOTD, Mode.RECOVERY, Mode.SIDELOAD)
"""Modes a handset can power on into (holding keys, on a real one)."""
