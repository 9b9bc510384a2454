import socket

import pytest

from flasher.virtual.handset import Handset, Mode
from flasher.virtual.tcp_server import HandsetTcpServer
from flasher.virtual.udp_server import HandsetUdpServer
from flasher.virtual.usb_backend import VirtualUsbBus
from tests.support.handsets import FAST_TIMING, small_profile


class Bench:
    """Handsets on every link, each its own handset: one serves one host at a time."""

    def __init__(self, root):
        self.root = root
        self.bus = VirtualUsbBus()
        self._servers = []
        self._handsets = []

    def handset(self, serialno: str, start_mode: Mode = Mode.BOOTLOADER, **changes) -> Handset:
        handset = Handset(small_profile(serialno, **changes), self.root / serialno, timing=FAST_TIMING,
                          start_mode=start_mode)
        self._handsets.append(handset)
        return handset

    def usb(self, serialno: str, start_mode: Mode = Mode.BOOTLOADER, **changes) -> Handset:
        handset = self.handset(serialno, start_mode, **changes)
        self.bus.attach(handset)
        return handset

    def tcp(self, serialno: str, port: int = 0) -> HandsetTcpServer:
        server = HandsetTcpServer(self.handset(serialno), port=port).start()
        self._servers.append(server)
        return server

    def udp(self, serialno: str) -> HandsetUdpServer:
        server = HandsetUdpServer(self.handset(serialno)).start()
        self._servers.append(server)
        return server

    def close(self) -> None:
        self.bus.close()
        for server in self._servers:
            server.stop()
        for handset in self._handsets:
            handset.shutdown()


def free_port() -> int:
    """A TCP port nothing listens on (just released by the system)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


@pytest.fixture
def bench(tmp_path):
    bench = Bench(tmp_path)
    yield bench
    bench.close()
