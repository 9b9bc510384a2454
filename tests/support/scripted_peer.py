"""A fastboot-over-TCP peer that answers from a script: the hostile device of tests.

`reply(command: bytes, send: Callable[[bytes], None])` is called for every
command frame; `send` writes one frame, `sock` is there for raw mischief.
"""

import socket
import struct
import threading


class ScriptedPeer:
    def __init__(self, reply, *, handshake: bytes = b"FB01"):
        self.reply = reply
        self.handshake = handshake
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.address = f"tcp:127.0.0.1:{self.port}"
        self.commands: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stop = threading.Event()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=5)

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            try:
                conn.recv(4)
                if self.handshake:
                    conn.sendall(self.handshake)
                while not self.stop.is_set():
                    header = _recv_exact(conn, 8)
                    if header is None:
                        return
                    (length,) = struct.unpack(">Q", header)
                    command = _recv_exact(conn, length)
                    self.commands.append(command)
                    self.reply(command, lambda data: conn.sendall(struct.pack(">Q", len(data)) + data), conn)
            except OSError:
                return


def _recv_exact(conn, count):
    data = b""
    while len(data) < count:
        piece = conn.recv(count - len(data))
        if not piece:
            return None
        data += piece
    return data
