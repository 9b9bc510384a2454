"""Serves a virtual handset on a real TCP port, as fastboot-over-TCP devices do.

Hosts are served one at a time, like a real device. While the handset is
offline (rebooting, in Android) connections are closed before the handshake,
so a host sees it vanish and come back.
"""

import logging
import os
import socket
import threading

from ..errors import FlasherError
from ..transport.errors import TransportError
from ..transport.tcp import TcpTransport
from .handset import Handset

log = logging.getLogger("tsuf.virtual.tcp")


class PortUnavailable(FlasherError):
    hint = "Another program (or another emulator) holds that port; pick another with --tcp PORT."


class HandsetTcpServer:
    def __init__(self, handset: Handset, host: str = "127.0.0.1", port: int = 0):
        self.handset = handset
        try:
            self._listener = socket.create_server((host, port))
        except OSError as exc:
            raise PortUnavailable(f"cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else exc})") from None
        self.host, self.port = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name=f"handset-{handset.serialno}")
        self._active: TcpTransport | None = None
        self._stopping = False

    @property
    def address(self) -> str:
        return f"tcp:{self.host}:{self.port}"

    def start(self) -> "HandsetTcpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        if self._active:
            self._active.close()
        if self._thread.ident is not None:  # a server stopped before it started has no thread to join
            self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                sock, peer = self._listener.accept()
            except OSError:
                return
            if not self._available():
                sock.close()
                continue
            link = self._wrap(sock, f"tcp-peer:{peer[0]}:{peer[1]}")
            self._active = link
            try:
                link.handshake()
            except TransportError as exc:
                log.debug("%s: handshake failed: %s", self.handset.serialno, exc)
                link.close()
                continue
            self._serve(link)
            self._active = None

    # What the ADB server (adb_server.py) does differently.

    def _available(self) -> bool:
        return self.handset.online

    def _wrap(self, sock: socket.socket, address: str) -> TcpTransport:
        return TcpTransport(sock, address)

    def _serve(self, link: TcpTransport) -> None:
        self.handset.serve(link)
