"""The UDP host transport against the virtual handset, over real loopback sockets."""

import os
import select
import socket
import threading
import time

import pytest

from flasher.fastboot import FastbootDevice
from flasher.discovery.waiting import wait_for_fastboot
from flasher.transport.address import open_transport
from flasher.transport.errors import ConnectFailed, DeviceReportedError, HandshakeFailed, LinkTimeout
from flasher.transport.udp import UdpTransport
from flasher.transport.udp_packets import PacketId, decode, encode
from flasher.virtual import udp_server
from flasher.virtual.handset import Handset
from flasher.virtual.tcp_server import HandsetTcpServer
from flasher.virtual.udp_server import HandsetUdpServer
from tests.support.handsets import FAST_TIMING, small_profile

FAST_RETRANSMIT = 0.02


@pytest.fixture
def handset(tmp_path):
    handset = Handset(small_profile(), tmp_path / "handset", timing=FAST_TIMING)
    yield handset
    handset.shutdown()


@pytest.fixture
def server(handset):
    server = HandsetUdpServer(handset).start()
    yield server
    server.stop()


class Relay:
    """Forwards datagrams between one host and a device port, dropping or doubling some each way."""

    def __init__(self, device_port: int, *, drop_every: int = 0, duplicate_every: int = 0):
        self.drop_every = drop_every
        self.duplicate_every = duplicate_every
        self.silent = False
        self.dropped = 0
        self.sizes: list[int] = []
        self._host_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._host_side.bind(("127.0.0.1", 0))
        self._device_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._device_side.connect(("127.0.0.1", device_port))
        self.port = self._host_side.getsockname()[1]
        self._host = None
        self._counts = {"up": 0, "down": 0}
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            ready, _, _ = select.select([self._host_side, self._device_side], [], [], 0.05)
            for sock in ready:
                if sock is self._host_side:
                    datagram, self._host = sock.recvfrom(65535)
                    self._forward("up", datagram, lambda d: self._device_side.send(d))
                else:
                    datagram = sock.recv(65535)
                    self._forward("down", datagram, lambda d: self._host_side.sendto(d, self._host))

    def _forward(self, direction: str, datagram: bytes, send) -> None:
        self.sizes.append(len(datagram))
        self._counts[direction] += 1
        count = self._counts[direction]
        if self.silent or (self.drop_every and count % self.drop_every == 0):
            self.dropped += 1
            return
        send(datagram)
        if self.duplicate_every and count % self.duplicate_every == 0:
            send(datagram)

    def connect(self, retransmit_interval: float = FAST_RETRANSMIT) -> UdpTransport:
        return UdpTransport.connect("127.0.0.1", self.port, retransmit_interval=retransmit_interval)

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(2)
        self._host_side.close()
        self._device_side.close()


@pytest.fixture
def relay_for():
    relays = []

    def make(server, **options):
        relays.append(Relay(server.port, **options))
        return relays[-1]
    yield make
    for relay in relays:
        relay.stop()


def _fetch(device: FastbootDevice, partition: str, path) -> bytes:
    with open(path, "wb") as out:
        device.fetch(partition, out)
    return path.read_bytes()


def test_getvar_flash_and_fetch(server, handset, tmp_path):
    image = tmp_path / "system.img"
    data = os.urandom(6 << 20)  # seven downloads under 1 MiB, about a thousand packets each
    image.write_bytes(data)
    with FastbootDevice.open(server.address) as device:
        assert device.getvar("product") == handset.profile.product
        assert device.transport.max_packet_size == 1024  # the device's 1024, not the host's 8192
        assert device.flash("system", image) == 7
        assert handset.storage.path("system_a").read_bytes() == data
        assert _fetch(device, "system", tmp_path / "back.img") == data


def test_flash_survives_lost_and_doubled_datagrams(server, handset, relay_for, tmp_path):
    relay = relay_for(server, drop_every=7, duplicate_every=5)
    image = tmp_path / "vbmeta.img"
    data = os.urandom(64 << 10)
    image.write_bytes(data)
    with FastbootDevice(relay.connect()) as device:
        device.flash("vbmeta", image)
        assert handset.storage.path("vbmeta_a").read_bytes() == data
        assert _fetch(device, "vbmeta", tmp_path / "back.img") == data
    assert relay.dropped > 20


def test_packet_size_is_the_smaller_of_both_sides(handset, relay_for, tmp_path):
    server = HandsetUdpServer(handset, max_packet_size=600).start()
    try:
        relay = relay_for(server)
        image = tmp_path / "vbmeta.img"
        data = os.urandom(20000)
        image.write_bytes(data)
        with FastbootDevice(relay.connect()) as device:
            assert device.transport.max_packet_size == 600
            device.flash("vbmeta", image)
            assert _fetch(device, "vbmeta", tmp_path / "back.img")[:20000] == data
        assert max(relay.sizes) == 600
    finally:
        server.stop()


def test_silent_peer_fails_the_connect_within_its_deadline():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        started = time.monotonic()
        with pytest.raises(ConnectFailed, match="no answer to the fastboot UDP handshake"):
            UdpTransport.connect("127.0.0.1", silent.getsockname()[1], timeout=0.6)
        assert time.monotonic() - started < 1.0


def test_device_gone_silent_is_a_timeout_within_the_deadline(server, relay_for):
    relay = relay_for(server)
    with relay.connect() as link:
        relay.silent = True
        started = time.monotonic()
        with pytest.raises(LinkTimeout, match="no reply from the device after"):
            link.write(b"getvar:product", 0.5)
        assert 0.45 < time.monotonic() - started < 0.8
        with pytest.raises(LinkTimeout):
            link.read(256, 0.3)


def test_retransmissions_stop_at_120_tries(server, relay_for):
    relay = relay_for(server)
    with relay.connect(retransmit_interval=0.002) as link:
        relay.silent = True
        with pytest.raises(LinkTimeout, match="after 120 tries"):
            link.write(b"getvar:product", 30)


def _fake_device(answer):
    """A device that answers the query, then lets `answer(packet)` reply to the init."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def run():
        with sock:
            for _ in range(2):
                datagram, peer = sock.recvfrom(65535)
                packet = decode(datagram)
                if packet.id is PacketId.QUERY:
                    sock.sendto(encode(PacketId.QUERY, packet.sequence, b"\x00\x05"), peer)
                else:
                    sock.sendto(answer(packet), peer)
    threading.Thread(target=run, daemon=True).start()
    return sock.getsockname()[1]


def test_error_packet_from_the_device_is_a_named_error():
    port = _fake_device(lambda packet: encode(PacketId.ERROR, packet.sequence, b"busy flashing"))
    with pytest.raises(DeviceReportedError, match="busy flashing"):
        UdpTransport.connect("127.0.0.1", port, timeout=2)


def test_init_with_too_small_packets_is_refused():
    port = _fake_device(lambda packet: encode(PacketId.INIT, packet.sequence, b"\x00\x01\x01\x00"))
    with pytest.raises(HandshakeFailed, match="udp:127.0.0.1:.*256 bytes"):
        UdpTransport.connect("127.0.0.1", port, timeout=2)


def test_long_packets_are_read_in_bounded_pieces():
    device_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    device_socket.bind(("127.0.0.1", 0))
    link = udp_server.UdpDeviceLink(device_socket, online=lambda: True)
    data = os.urandom(5000)

    def device():
        link.wait_for_host()
        link.write(data, 5)
    thread = threading.Thread(target=device, daemon=True)
    thread.start()
    with UdpTransport.connect("127.0.0.1", device_socket.getsockname()[1]) as host:
        pieces = [host.read(1000, 2) for _ in range(5)]
        assert len(host._unread) < 1000
    thread.join(2)
    link.stop()
    device_socket.close()
    assert [len(piece) for piece in pieces] == [1000] * 5
    assert b"".join(pieces) == data


def test_sequence_numbers_wrap(server):
    server._link._expected = 0xFFFD
    with FastbootDevice.open(server.address) as device:
        for _ in range(5):
            assert device.getvar("slot-count") == "2"
    assert server._link._expected < 10


def test_a_new_host_replaces_a_forgotten_session(server):
    first = FastbootDevice.open(server.address)
    assert first.getvar("current-slot") == "a"
    with FastbootDevice.open(server.address) as second:  # the first never said goodbye
        second.set_active("b")
        assert second.getvar("current-slot") == "b"
    first.close()


def test_a_quiet_udp_host_lets_a_tcp_host_in_and_comes_back(server, handset, monkeypatch):
    monkeypatch.setattr(udp_server, "PARK_AFTER", 0.2)
    tcp = HandsetTcpServer(handset).start()
    try:
        with FastbootDevice.open(server.address) as over_udp:
            assert over_udp.getvar("current-slot") == "a"
            with FastbootDevice.open(tcp.address) as over_tcp:
                over_tcp.set_active("b")
            assert over_udp.getvar("current-slot") == "b"
    finally:
        tcp.stop()


def test_reboot_then_reconnect(server, handset):
    with open_transport(server.address) as link:
        device = FastbootDevice(link)
        device.reboot("bootloader")
    with wait_for_fastboot(server.address, timeout=5, serialno=handset.serialno) as device:
        assert device.getvar("current-slot") == "a"


def test_closed_port_fails_the_connect_at_once():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectFailed):
        UdpTransport.connect("127.0.0.1", port, timeout=2)
    assert time.monotonic() - started < 1.5


def test_bad_init_gets_an_error_packet_and_leaves_the_session_alone(server):
    with FastbootDevice.open(server.address) as device:
        assert device.getvar("slot-count") == "2"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.settimeout(2)
            stranger.connect(("127.0.0.1", server.port))
            stranger.send(encode(PacketId.QUERY, 0))
            expected = int.from_bytes(decode(stranger.recv(100)).payload, "big")
            stranger.send(encode(PacketId.INIT, expected, b"\x00\x01\x00\x10"))
            reply = decode(stranger.recv(100))
        assert reply.id is PacketId.ERROR and b"16 bytes" in reply.payload
        assert device.getvar("slot-count") == "2"
