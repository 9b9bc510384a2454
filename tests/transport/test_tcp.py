import io
import os
import socket
import struct
import threading
import time

import pytest

from flasher.transport.base import FileSpan
from flasher.transport.errors import ConnectFailed, HandshakeFailed, LinkClosed, LinkTimeout, SourceEnded
from flasher.transport.tcp import TcpTransport, parse_handshake


def _server(script):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run():
        conn, _ = listener.accept()
        with conn:
            script(conn)
        listener.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def test_handshake_and_framing_both_ways():
    received = []

    def script(conn):
        assert conn.recv(4) == b"FB01"
        conn.sendall(b"FB01")
        (length,) = struct.unpack(">Q", conn.recv(8))
        received.append(conn.recv(length))
        conn.sendall(struct.pack(">Q", 4) + b"OKAY")
    port, thread = _server(script)
    with TcpTransport.connect("127.0.0.1", port) as link:
        assert link._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        link.write(b"getvar:version", 1)
        assert link.read(256, 1) == b"OKAY"
    thread.join(2)
    assert received == [b"getvar:version"]


def test_a_loopback_peer_is_planned_for_as_a_memory_fast_link():
    """An emulator on this machine takes bytes as fast as a scan reads them; a LAN does not."""
    port, thread = _frames_server([])
    with TcpTransport.connect("127.0.0.1", port) as link:
        assert link.link_rate == TcpTransport.LOOPBACK_RATE > TcpTransport.link_rate
    thread.join(2)


def _frames_server(frames: list):
    """A peer that handshakes, then collects frames until the host closes."""
    def script(conn):
        conn.recv(4)
        conn.sendall(b"FB01")
        reader = conn.makefile("rb")
        while header := reader.read(8):
            frames.append(reader.read(struct.unpack(">Q", header)[0]))
    return _server(script)


def test_a_file_span_goes_as_one_frame_of_the_file_bytes(tmp_path):
    path = tmp_path / "image.img"
    data = bytes(range(256)) * 4096
    path.write_bytes(data)
    frames = []
    port, thread = _frames_server(frames)
    with TcpTransport.connect("127.0.0.1", port) as link, open(path, "rb") as f:
        link.write_span(FileSpan(f, 1000, 300_000), 5)
        link.write(b"next", 5)
    thread.join(5)
    assert frames == [data[1000:301_000], b"next"]


def test_a_file_that_ends_before_its_span_is_a_named_error(tmp_path):
    path = tmp_path / "image.img"
    path.write_bytes(bytes(1000))
    port, thread = _frames_server([])
    with TcpTransport.connect("127.0.0.1", port) as link, open(path, "rb") as f:
        with pytest.raises(SourceEnded, match="ended at byte 1000"):
            link.write_span(FileSpan(f, 0, 5000), 5)
    thread.join(5)


def test_a_file_cut_short_while_being_sent_is_a_named_error_not_a_crash(tmp_path):
    """The span is sent from a mapping of the file; a file shortened under it must fail the
    send, not kill the process (SIGBUS), and say which file."""
    path = tmp_path / "image.img"
    with open(path, "wb") as f:
        f.truncate(64 << 20)

    def script(conn):
        conn.recv(4)
        conn.sendall(b"FB01")
        reader = conn.makefile("rb")
        reader.read(8 + (64 << 10))  # the host is sending; the socket buffers hold far less than the rest
        os.truncate(path, 1 << 20)
        conn.settimeout(30)
        while reader.read(1 << 20):
            pass
    port, thread = _server(script)
    with TcpTransport.connect("127.0.0.1", port) as link, open(path, "rb") as f:
        with pytest.raises(SourceEnded, match=r"image\.img was cut short while being sent"):
            link.write_span(FileSpan(f, 0, 64 << 20), 30)
    thread.join(30)


def test_a_span_of_a_file_without_a_descriptor_goes_through_a_buffer():
    data = bytes(range(256)) * 8192
    frames = []
    port, thread = _frames_server(frames)
    with TcpTransport.connect("127.0.0.1", port) as link:
        link.write_span(FileSpan(io.BytesIO(data), 5, len(data) - 10), 5)
        link.write(b"next", 5)
    thread.join(5)
    assert frames == [data[5:-5], b"next"]


def test_a_file_without_a_descriptor_that_ends_early_is_a_named_error():
    port, thread = _frames_server([])
    with TcpTransport.connect("127.0.0.1", port) as link:
        with pytest.raises(SourceEnded, match="ended at byte 1000"):
            link.write_span(FileSpan(io.BytesIO(bytes(1000)), 0, 5000), 5)
    thread.join(5)


def test_long_frames_are_read_in_bounded_pieces():
    def script(conn):
        conn.recv(4)
        conn.sendall(b"FB01")
        conn.sendall(struct.pack(">Q", 10) + b"0123456789")
        time.sleep(0.2)
    port, _ = _server(script)
    with TcpTransport.connect("127.0.0.1", port) as link:
        assert link.read(4, 1) == b"0123"
        assert link.read(4, 1) == b"4567"
        assert link.read(4, 1) == b"89"


def test_newer_peer_version_is_accepted():
    assert parse_handshake(b"FB02") == 2


@pytest.mark.parametrize("reply", [b"HTTP", b"FB00", b"FBxx"])
def test_wrong_handshake_is_refused(reply):
    def script(conn):
        conn.recv(4)
        conn.sendall(reply)
        time.sleep(0.2)
    port, _ = _server(script)
    with pytest.raises(HandshakeFailed):
        TcpTransport.connect("127.0.0.1", port)


def test_silent_peer_fails_the_handshake_within_its_deadline():
    def script(conn):
        time.sleep(1.5)
    port, _ = _server(script)
    started = time.monotonic()
    with pytest.raises(HandshakeFailed, match="no fastboot handshake"):
        TcpTransport.connect("127.0.0.1", port, timeout=0.5)
    assert time.monotonic() - started < 1.4


def test_read_deadline():
    def script(conn):
        conn.recv(4)
        conn.sendall(b"FB01")
        time.sleep(1.0)
    port, _ = _server(script)
    with TcpTransport.connect("127.0.0.1", port) as link:
        started = time.monotonic()
        with pytest.raises(LinkTimeout):
            link.read(256, 0.3)
        assert time.monotonic() - started < 0.9


def test_peer_closing_is_link_closed():
    def script(conn):
        conn.recv(4)
        conn.sendall(b"FB01")
    port, thread = _server(script)
    with TcpTransport.connect("127.0.0.1", port) as link:
        thread.join(2)
        with pytest.raises(LinkClosed):
            link.read(256, 1)


def test_nobody_listening_is_connect_failed():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ConnectFailed) as info:
        TcpTransport.connect("127.0.0.1", port, timeout=1)
    assert "fastboot mode" in info.value.hint
