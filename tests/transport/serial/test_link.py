"""The link layer between two ends of a real pty: pyserial on the slave, the handset's stream on the master."""

import hashlib
import os
import threading
import time
import tty

import pytest

from flasher.transport.errors import HandshakeFailed, LinkTimeout, SerialPortGone
from flasher.transport.serial.link import Link
from flasher.transport.serial.transport import PortStream, open_port
from flasher.virtual.serial_server import FdStream, LineNoise

MiB = 1 << 20


@pytest.fixture
def line():
    """(host link, device link, device stream) over a fresh pty."""
    master, slave = os.openpty()
    tty.setraw(slave)
    port = open_port(os.ttyname(slave))
    device_stream = FdStream(master, "pty-master")
    yield port, device_stream
    device_stream.stopped = True
    port.close()
    os.close(slave)
    try:
        os.close(master)
    except OSError:
        pass


def _links(line, noise_every: int | None = None):
    port, device_stream = line
    stream = LineNoise(device_stream, noise_every, seed=1) if noise_every else device_stream
    host = Link(PortStream(port, "host"), name="host")
    device = Link(stream, name="device", device=True)
    return host, device, stream


def _run(target):
    errors = []

    def run():
        try:
            target()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def _receive_all(link: Link, size: int, digest, timeout: float = 60.0) -> None:
    left = size
    while left:
        piece = link.receive(min(left, MiB), timeout)
        digest.update(piece)
        left -= len(piece)


def test_packets_arrive_in_order_with_their_boundaries(line):
    host, device, _ = _links(line)
    packets = [b"getvar:product", b"", b"x" * 10000, bytes(range(256)) * 40, b"OKAY"]
    thread, errors = _run(lambda: [host.send(p, 10) for p in packets])
    received = [device.receive(1 << 16, 10) for _ in packets]
    thread.join(10)
    assert not errors and received == packets


def test_a_long_packet_is_read_in_bounded_pieces(line):
    host, device, _ = _links(line)
    thread, errors = _run(lambda: host.send(b"a" * 9000, 10))
    assert [len(device.receive(4000, 10)) for _ in range(3)] == [4000, 4000, 1000]
    thread.join(10)
    assert not errors


@pytest.mark.parametrize("direction", ["host to device", "device to host"])
def test_4_mib_arrive_intact_through_bit_flips_and_dropped_bytes(line, direction):
    host, device, noise = _links(line, noise_every=50_000)  # about two errors per 100 KB, each way
    data = os.urandom(4 * MiB)
    sender, receiver = (host, device) if direction == "host to device" else (device, host)
    thread, errors = _run(lambda: [sender.send(data[i:i + MiB], 60) for i in range(0, len(data), MiB)])
    digest = hashlib.sha256()
    _receive_all(receiver, len(data), digest)
    thread.join(60)
    assert not errors
    assert digest.digest() == hashlib.sha256(data).digest()
    assert noise.errors >= 40  # at least one per 100 KB: the test really was noisy
    assert sender.retransmits > 0


def test_a_dead_peer_is_a_timeout_within_the_deadline(line):
    host, _device, _ = _links(line)
    started = time.monotonic()
    with pytest.raises(LinkTimeout, match="acknowledged nothing"):
        host.send(b"x" * 100, 1.0)
    assert time.monotonic() - started < 2.5
    with pytest.raises(LinkTimeout):
        host.receive(100, 0.5)


def test_no_answer_to_the_handshake_is_named(line):
    host, _device, _ = _links(line)
    with pytest.raises(HandshakeFailed, match="download-mode"):
        host.hello(0.5)


def test_a_vanished_port_is_named_within_the_deadline(line):
    port, device_stream = line
    host, _device, _ = _links(line)
    os.close(device_stream.fd)  # the master going away is an unplug for the slave
    started = time.monotonic()
    with pytest.raises(SerialPortGone):
        host.send(b"x" * 100, 5.0)
        host.receive(100, 5.0)
    assert time.monotonic() - started < 5.5
