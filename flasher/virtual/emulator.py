"""Several virtual handsets in one process, each on its own port and folder."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

from .adb_server import HandsetAdbServer, serve_pair
from .faults import Faults
from .handset import Handset, Mode, Timing
from .profile import DeviceProfile, default_profile
from .serial_server import HandsetSerialServer
from .tcp_server import HandsetTcpServer
from .udp_server import HandsetUdpServer
from .usb_debugging import Debugging


def serial_for(index: int) -> str:
    return f"VH{index:06d}"


class Emulator:
    """Virtual handsets on consecutive TCP ports from `base_port` (0: any free ports).

    With `udp_base_port` set they also answer on consecutive UDP ports from it
    (0: any free ports); a handset serves one host at a time, whatever the link.
    With `serial` each also gets a pseudo-terminal (Linux only) with its AT and
    download-mode port. With `adb` each also answers ADB in recovery and sideload
    mode on its fastboot port + 1, so handset i takes ports `base_port + 2(i-1)`
    and the one after; `start_mode` powers them on in that mode (e.g. sideload;
    default: their family's). `family` names the device family of every handset
    (default: the profile's).

    Handset i has serial number `serial_for(i)` and keeps its partitions in
    `storage/<serial>/`, so a restarted emulator finds its handsets as they were.
    """

    def __init__(self, storage: Path, *, count: int = 1, host: str = "127.0.0.1", base_port: int = 0,
                 udp_base_port: int | None = None, serial: bool = False, adb: bool = False,
                 start_mode: Mode | None = None, family: str | None = None,
                 profile_for: Callable[[str], DeviceProfile] = default_profile, timing: Timing = Timing(),
                 usb_debugging: Debugging = Debugging.OFF):
        self.storage = Path(storage)
        self.handsets: list[Handset] = []
        self.servers: list[HandsetTcpServer] = []
        self.udp_servers: list[HandsetUdpServer] = []
        self.serial_servers: list[HandsetSerialServer] = []
        self.adb_servers: list[HandsetAdbServer] = []
        try:
            for index in range(1, count + 1):
                profile = profile_for(serial_for(index))
                if family is not None:
                    profile = dataclasses.replace(profile, family=family)
                handset = Handset(profile, self.storage / profile.serialno, faults=Faults(), timing=timing,
                                  start_mode=start_mode, usb_debugging=usb_debugging)
                self.handsets.append(handset)
                if adb:
                    fastboot, adb_server = serve_pair(handset, host, base_port + 2 * (index - 1) if base_port else 0)
                    self.servers.append(fastboot)
                    self.adb_servers.append(adb_server)
                else:
                    self.servers.append(HandsetTcpServer(handset, host, base_port + index - 1 if base_port else 0))
                if udp_base_port is not None:
                    udp_port = udp_base_port + index - 1 if udp_base_port else 0
                    self.udp_servers.append(HandsetUdpServer(handset, host, udp_port))
                if serial:
                    self.serial_servers.append(HandsetSerialServer(handset))
        except BaseException:
            self.stop()
            raise

    @property
    def addresses(self) -> list[str]:
        return [server.address for server in self.servers]

    @property
    def udp_addresses(self) -> list[str]:
        return [server.address for server in self.udp_servers]

    @property
    def serial_addresses(self) -> list[str]:
        return [server.address for server in self.serial_servers]

    @property
    def adb_addresses(self) -> list[str]:
        return [server.address for server in self.adb_servers]

    def start(self) -> "Emulator":
        for server in [*self.servers, *self.udp_servers, *self.serial_servers, *self.adb_servers]:
            server.start()
        return self

    def stop(self) -> None:
        for server in [*self.servers, *self.udp_servers, *self.serial_servers, *self.adb_servers]:
            server.stop()
        for handset in self.handsets:
            handset.shutdown()  # servers come and go; the handset's own timers end with it

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
