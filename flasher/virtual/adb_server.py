"""Serves a virtual handset's ADB on TCP, beside its fastboot port: recovery's, or
Android's adbd on a phone with USB debugging on.

A network handset's ADB port is its fastboot port + 1 (5554 -> 5555), so a host
follows it from `tcp:H:P` to `tcp:H:P+1` when it reboots into recovery or Android. The
port is held all along, but connections are closed at once unless the handset is in
recovery or sideload mode, or in Android with debugging on, as a handset whose adbd
is not running refuses them.
"""

import socket

from ..adb.transport import ADB_PORT_OFFSET, AdbTcpTransport
from .handset import Handset
from .tcp_server import HandsetTcpServer, PortUnavailable

PAIR_ATTEMPTS = 50


class HandsetAdbServer(HandsetTcpServer):
    def _available(self) -> bool:
        return self.handset.adb_online

    def _wrap(self, sock: socket.socket, address: str) -> AdbTcpTransport:
        return AdbTcpTransport(sock, address)

    def _serve(self, link: AdbTcpTransport) -> None:
        self.handset.serve_adb(link)


def serve_pair(handset: Handset, host: str = "127.0.0.1", port: int = 0
               ) -> tuple[HandsetTcpServer, HandsetAdbServer]:
    """The handset's fastboot server on `port` and its ADB server on `port + 1`, not yet
    started; with `port` 0, the first free pair of neighbouring ports."""
    for _ in range(PAIR_ATTEMPTS if port == 0 else 1):
        fastboot = HandsetTcpServer(handset, host, port)
        try:
            return fastboot, HandsetAdbServer(handset, host, fastboot.port + ADB_PORT_OFFSET)
        except PortUnavailable:
            fastboot.stop()
            if port:
                raise
    raise PortUnavailable(f"no two neighbouring free ports on {host} after {PAIR_ATTEMPTS} tries")
