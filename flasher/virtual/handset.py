"""The virtual handset: a fastboot device with A/B slots stored on disk.

It is link-agnostic: `serve` runs one host session over any Transport (the TCP
server wraps accepted sockets; other links plug in the same way). Its modes
follow a real handset's: the bootloader and fastbootd answer fastboot; recovery
and sideload answer ADB (`serve_adb`, see recovery.py); while it reboots or
boots it is offline. Its family (families/) decides what it says and what its
work costs; the reference family, having no Android userspace, returns to the
bootloader after `Timing.android` seconds, the way a bench handset with a
reboot-to-bootloader test hook does. The real families stay in the Android
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
from ..protocol.variables import WITH_ARGUMENT
from ..transport.base import Transport
from ..transport.errors import TransportError
from . import getvars, lock, power_on, slots
from .faults import Faults
from .imaging import Written, write_image
from .profile import DeviceProfile, UnknownPartition
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

    def _getvar(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        pairs = getvars.all_variables(self.profile, self.meta, userspace=self.mode is Mode.FASTBOOTD,
                                      unlocked=self.unlocked)
        pairs += self._vendor_variables()
        if self.faults.max_download_claim is not None:
            pairs = [(key, f"0x{self.faults.max_download_claim:x}" if key == "max-download-size" else value)
                     for key, value in pairs]
        pairs = [(key, self.faults.answers.get(key, value)) for key, value in pairs]
        if command.argument == "all":
            for key, value in pairs:
                link.write(protocol.info(f"{key}:{value}"), DATA_TIMEOUT)
            link.write(protocol.okay(), DATA_TIMEOUT)
            return
        table = dict(pairs)
        value = table.get(command.argument)
        if value is None:
            value = table.get(self._current_slot_key(command.argument))
        if value is None:
            raise Refused("GetVar Variable Not found")
        link.write(protocol.okay(value), DATA_TIMEOUT)

    def _vendor_variables(self) -> list[tuple[str, str]]:
        """What this bench bootloader adds when it verifies boot: the running build ("none" while
        no verified build has booted) and the stored rollback index."""
        if not self.verified_boot.enabled:
            return []
        return [("build", self.running_build),
                ("rollback-index", str(self.verified_boot.stored_rollback_index))]

    def _current_slot_key(self, key: str) -> str | None:
        """`partition-size:boot` asks about the current slot's boot."""
        name, _, argument = key.partition(":")
        if name not in WITH_ARGUMENT or not argument:
            return None
        try:
            return f"{name}:{self._stem(argument)}"
        except UnknownPartition:
            return None

    def _download(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        if not 0 < len(command.argument) <= 8 or not all(c in _HEX for c in command.argument):
            raise Refused(f"bad download size {command.argument!r}: eight hex digits expected")
        size = int(command.argument, 16)
        if size > self.profile.max_download_size:
            raise Refused(f"data too large: {size} > max-download-size {self.profile.max_download_size}")
        self.receive_download(size, protocol, link)
        link.write(protocol.okay(), DATA_TIMEOUT)

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

    def _flash(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        stem = self._writable_stem(command.argument, lock.FLASH_REFUSED)
        if not self._staged_size:
            raise Refused("no image downloaded: send one with download first")
        self.write_staged(stem)
        link.write(protocol.okay(), DATA_TIMEOUT)

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

    def _erase(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        self.storage.erase(self._writable_stem(command.argument, lock.ERASE_REFUSED))
        link.write(protocol.okay(), DATA_TIMEOUT)

    def _fetch(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        name, *numbers = command.argument.split(":")
        stem = self._stem(name)
        size_of_partition = self.storage.size(stem)
        try:
            offset = int(numbers[0], 16) if numbers else 0
            size = int(numbers[1], 16) if len(numbers) > 1 else size_of_partition - offset
        except ValueError:
            raise Refused(f"bad fetch range {command.argument!r}") from None
        if offset < 0 or size < 0 or offset + size > size_of_partition:
            raise Refused(f"fetch range past the end of {stem} ({size_of_partition} bytes)")
        if size > self.profile.max_download_size:
            raise Refused(f"fetch of {size} bytes exceeds max-fetch-size")
        link.write(protocol.start_upload(size), DATA_TIMEOUT)
        for data in self.storage.read(stem, offset, size, PIECE):
            link.write(data, DATA_TIMEOUT)
            protocol.sent(len(data))
        link.write(protocol.okay(), DATA_TIMEOUT)

    def _upload(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        link.write(protocol.start_upload(self._staged_size), DATA_TIMEOUT)
        if not self._staged_size:
            link.write(protocol.okay(), DATA_TIMEOUT)
            return
        with open(self.storage.download_path(), "rb") as staged:
            left = self._staged_size
            while left:
                data = staged.read(min(PIECE, left))
                link.write(data, DATA_TIMEOUT)
                protocol.sent(len(data))
                left -= len(data)
        link.write(protocol.okay(), DATA_TIMEOUT)

    def _set_active(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        if self.profile.slot_count != 2:
            raise Refused("this device has no slots")
        if not self.unlocked:
            raise lock.LockRefused(lock.SLOT_CHANGE_REFUSED)
        try:
            slot = slots.parse_slot(command.argument)
        except slots.UnknownSlot:
            raise Refused(f"invalid slot {command.argument!r}") from None
        self._save(slots.set_active(self.meta, slot, self.profile.max_retry_count))
        link.write(protocol.okay(), DATA_TIMEOUT)

    def _reboot(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        target = command.argument or command.name.partition("-")[2]
        if command.name == "continue":
            target = ""
        if target not in _REBOOT_TARGETS:
            raise Refused(f"unknown reboot target {target!r}")
        link.write(protocol.okay(), DATA_TIMEOUT)
        self._begin_reboot(_REBOOT_TARGETS[target])
        raise _EndSession(f"rebooting to {target or 'the OS'}")

    def _flashing(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        """`flashing get_unlock_ability`, `unlock` and `lock`. A real handset asks its user to
        confirm an unlock on its screen; this one accepts at once."""
        if command.argument == "get_unlock_ability":
            link.write(protocol.info(lock.unlock_ability_line(self.profile.unlock_ability)), DATA_TIMEOUT)
        elif command.argument in ("unlock", "lock"):
            want_unlocked = command.argument == "unlock"
            lock.change(self.unlocked, want_unlocked, self.profile.unlock_ability)
            self._wipe_data()  # first: a crash must never leave an unlocked handset with its data
            self.lock_store.save(want_unlocked)
            self.unlocked = want_unlocked
            self._log.info("bootloader %sed; user data wiped", command.argument)
        else:
            raise Refused(f"flashing {command.argument} is not supported on this device")
        link.write(protocol.okay(), DATA_TIMEOUT)

    def _refuse(self, command: Command, protocol: DeviceProtocol, link: Transport) -> None:
        raise Refused(f"{command.name} is not supported on this device")

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

    def _stem(self, name: str) -> str:
        _partition, _slot, stem = self.profile.resolve(name, self.meta.active)
        return stem

    def _wipe_data(self) -> None:
        try:
            stem = self._stem(lock.WIPED_ON_CHANGE)
        except UnknownPartition:
            return  # a profile without user data has none to lose
        self.storage.erase(stem)

    def _writable_stem(self, name: str, refusal: str) -> str:
        """The stem to write, unless a locked bootloader protects the partition."""
        partition, _slot, stem = self.profile.resolve(name, self.meta.active)
        if partition.protected and not self.unlocked:
            raise lock.LockRefused(refusal)
        return stem


_HEX = frozenset("0123456789abcdefABCDEF")


class Refused(FlasherError):
    """A command the handset answers with FAIL."""


START_MODES = (Mode.BOOTLOADER, Mode.FASTBOOTD, Mode.RECOVERY, Mode.SIDELOAD)
"""Modes a handset can power on into (holding keys, on a real one)."""

_REBOOT_TARGETS = {
    "": Mode.ANDROID,
    "bootloader": Mode.BOOTLOADER,
    "fastboot": Mode.FASTBOOTD,
    "recovery": Mode.RECOVERY,
}

_HANDLERS = {
    "getvar": Handset._getvar,
    "download": Handset._download,
    "flash": Handset._flash,
    "erase": Handset._erase,
    "fetch": Handset._fetch,
    "upload": Handset._upload,
    "set_active": Handset._set_active,
    "reboot": Handset._reboot,
    "reboot-bootloader": Handset._reboot,
    "reboot-fastboot": Handset._reboot,
    "reboot-recovery": Handset._reboot,
    "continue": Handset._reboot,
    "boot": Handset._refuse,
    "oem": Handset._refuse,
    "flashing": Handset._flashing,
}
