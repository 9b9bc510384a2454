"""Small virtual handsets for tests: the default profile's shape at MiB sizes."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from flasher.transport import usb
from flasher.virtual.adb_server import serve_pair
from flasher.virtual.emulator import serial_for
from flasher.virtual.handset import Handset, Mode, Timing
from flasher.virtual.profile import KiB, MiB, Partition, default_profile
from flasher.virtual.tcp_server import HandsetTcpServer
from flasher.virtual.usb_debugging import Debugging
from flasher.virtual.usb_backend import VirtualUsbBus

FAST_TIMING = Timing(reboot=0.05, boot=0.05, android=0.15)
MAX_DOWNLOAD = 1 * MiB


def small_profile(serialno: str = "VH000001", **changes):
    partitions = (
        Partition("boot", 2 * MiB, True),
        Partition("vbmeta", 64 * KiB, True),
        Partition("system", 6 * MiB, True),
        Partition("misc", 64 * KiB, False),
        Partition("userdata", 4 * MiB, False),
    )
    profile = dataclasses.replace(default_profile(serialno), max_download_size=MAX_DOWNLOAD,
                                  partitions=partitions)
    return dataclasses.replace(profile, **changes)


def android_profile(serialno: str = "VH000001", **changes):
    """A small phone for the android family: system, vendor and product become logical
    partitions inside super (2 × 14 MiB of them, plus room for the metadata)."""
    partitions = (
        Partition("boot", 2 * MiB, True),
        Partition("vbmeta", 64 * KiB, True),
        Partition("system", 8 * MiB, True),
        Partition("vendor", 4 * MiB, True),
        Partition("product", 2 * MiB, True),
        Partition("misc", 64 * KiB, False),
        Partition("userdata", 4 * MiB, False),
    )
    return small_profile(serialno, partitions=partitions, family="android", **changes)


ANDROID_SUPER_SIZE = 2 * 14 * MiB + 4 * MiB
"""super of android_profile(): both slots' system, vendor and product, and 4 MiB of room."""


def android_super_empty(super_size: int = ANDROID_SUPER_SIZE) -> bytes:
    """super_empty.img as a factory image for android_profile() carries it: every logical
    partition of both slots empty, each slot's group allowed half of super."""
    from flasher.lp import image, layout
    share = (super_size - MiB) // 2 // 4096 * 4096
    metadata = layout.new_layout("super", super_size, {f"qti_dynamic_partitions_{s}": share for s in "ab"},
                                 {f"{name}_{s}": f"qti_dynamic_partitions_{s}" for s in "ab"
                                  for name in ("system", "vendor", "product")})
    return image.super_empty_bytes(metadata)


class RunningHandset:
    """A handset on TCP; with `adb`, ADB (recovery's, or Android's with `usb_debugging` on) also answers
    on the next port (`adb_address`); `family` names its device family (RunningHandset(path, family="uboot"))."""

    def __init__(self, root: Path, profile=None, timing: Timing = FAST_TIMING, *, adb: bool = False,
                 start_mode: Mode | None = None, family: str | None = None, usb_debugging: Debugging = Debugging.OFF):
        profile = profile or small_profile()
        if family is not None:
            profile = dataclasses.replace(profile, family=family)
        self.handset = Handset(profile, root, timing=timing, start_mode=start_mode, usb_debugging=usb_debugging)
        self.adb_server = None
        if adb:
            self.server, self.adb_server = serve_pair(self.handset)
            self.adb_server.start()
            self.adb_address = self.adb_server.address
        else:
            self.server = HandsetTcpServer(self.handset)
        self.server.start()
        self.address = self.server.address

    def partition(self, stem: str) -> bytes:
        return self.handset.storage.path(stem).read_bytes()

    def stop(self) -> None:
        self.server.stop()
        if self.adb_server:
            self.adb_server.stop()
        self.handset.shutdown()


class UsbHandsets:
    """Small handsets plugged into a virtual USB bus that `usb:` addresses reach;
    `changes` go into each one's profile (e.g. unlocked=False, family="uboot")."""

    def __init__(self, root: Path, count: int = 1, timing: Timing = FAST_TIMING,
                 usb_debugging: Debugging = Debugging.OFF, **changes):
        self.bus = VirtualUsbBus()
        self.handsets = [Handset(small_profile(serial_for(i), **changes), root / serial_for(i), timing=timing,
                                 usb_debugging=usb_debugging)
                         for i in range(1, count + 1)]
        for handset in self.handsets:
            self.bus.attach(handset)
        usb.use_backend(self.bus)

    @property
    def handset(self) -> Handset:
        return self.handsets[0]

    @property
    def address(self) -> str:
        return f"usb:{self.handset.serialno}"

    def stop(self) -> None:
        usb.use_backend(None)
        self.bus.close()
        for handset in self.handsets:
            handset.shutdown()


class EmulatorProcess:
    """`tsuf emulator` in a child process, as a user runs it; `udp` and `serial` add those addresses,
    `locked` starts the handsets with locked bootloaders, `adb` (or `mode` recovery or sideload) adds
    recovery's ADB addresses, `family` picks the device family (`--family`), `adb_keys` USB debugging
    in Android (`--adb-keys`, which adds the ADB addresses too)."""

    def __init__(self, storage: Path, *, count: int = 1, profile=None, udp: bool = False, serial: bool = False,
                 faults: tuple[str, ...] = (), port: int = 0, locked: bool = False, adb: bool = False,
                 mode: str | None = None, family: str | None = None, adb_keys: str = "off",
                 oem_key: Path | None = None):
        args = [sys.executable, "-m", "flasher.cli.main", "emulator", "--tcp", str(port),
                "--count", str(count), "--storage", str(storage)]
        for spec in faults:
            args += ["--fault", spec]
        if udp:
            args += ["--udp", "0"]
        if serial:
            args += ["--serial"]
        if locked:
            args += ["--locked"]
        adb = adb or mode in ("recovery", "sideload") or adb_keys != "off"
        if adb:
            args += ["--adb", "--adb-keys", adb_keys]
        if mode is not None:
            args += ["--mode", mode]
        if family is not None:
            args += ["--family", family]
        if oem_key is not None:
            args += ["--oem-key", str(oem_key)]
        if profile is not None:
            profile_file = storage.parent / f"{storage.name}-profile.json"
            profile_file.write_text(json.dumps(profile.to_dict()))
            args += ["--profile", str(profile_file)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.handsets = self._read_handsets(count)
        self.udp_handsets = self._read_handsets(count) if udp else []
        self.serial_handsets = self._read_handsets(count) if serial else []
        self.adb_handsets = self._read_handsets(count) if adb else []

    def _read_handsets(self, count: int) -> list[tuple[str, str, Path]]:
        handsets = []
        for _ in range(count):
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"emulator did not start: {self.process.stderr.read()}")
            serialno, address, folder = line.rstrip("\n").split("\t")
            handsets.append((serialno, address, Path(folder)))
        return handsets

    @property
    def address(self) -> str:
        return self.handsets[0][1]

    @property
    def udp_address(self) -> str:
        return self.udp_handsets[0][1]

    @property
    def serial_address(self) -> str:
        return self.serial_handsets[0][1]

    @property
    def adb_address(self) -> str:
        return self.adb_handsets[0][1]

    @property
    def folder(self) -> Path:
        return self.handsets[0][2]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
