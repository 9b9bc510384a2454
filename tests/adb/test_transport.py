"""ADB addresses, and the TCP link: the socket as a stream, no fastboot framing."""

import socket

import pytest

from flasher.adb.transport import AdbTcpTransport, adb_address_for, open_adb_transport, parse_adb_address
from flasher.transport.errors import BadAddress, ConnectFailed, LinkClosed, UnsupportedLink


@pytest.mark.parametrize("text, expected", [
    ("tcp:192.168.1.20", "tcp:192.168.1.20:5555"),
    ("tcp:192.168.1.20:5601", "tcp:192.168.1.20:5601"),
    ("tcp:[::1]", "tcp:[::1]:5555"),
    ("tcp:[::1]:7000", "tcp:[::1]:7000"),
    ("usb:ZTE0001", "usb:ZTE0001"),
])
def test_addresses_default_to_adbs_port(text, expected):
    assert str(parse_adb_address(text)) == expected


@pytest.mark.parametrize("text, error", [("udp:1.2.3.4", UnsupportedLink), ("serial:/dev/ttyUSB0", UnsupportedLink),
                                         ("adb:1.2.3.4", BadAddress), ("tcp:host:99999", BadAddress)])
def test_links_adb_does_not_run_on_are_refused(text, error):
    with pytest.raises(error):
        parse_adb_address(text)


@pytest.mark.parametrize("fastboot, adb", [("tcp:10.0.0.5:5554", "tcp:10.0.0.5:5555"),
                                           ("tcp:10.0.0.5", "tcp:10.0.0.5:5555"),
                                           ("tcp:[fe80::1]:6000", "tcp:[fe80::1]:6001"),
                                           ("usb:ZTE0001", "usb:ZTE0001")])
def test_a_handsets_adb_is_beside_its_fastboot(fastboot, adb):
    assert adb_address_for(fastboot) == adb


def test_no_adb_address_past_the_last_port_or_on_udp():
    with pytest.raises(BadAddress):
        adb_address_for("tcp:10.0.0.5:65535")
    with pytest.raises(UnsupportedLink):
        adb_address_for("udp:10.0.0.5:5554")


def test_tcp_carries_bytes_as_they_are_with_no_handshake():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        link = open_adb_transport(f"tcp:127.0.0.1:{port}", timeout=2)
        peer, _ = listener.accept()
        with peer, link:
            link.write(b"CNXN" + bytes(20), 2)
            assert peer.recv(100) == b"CNXN" + bytes(20)  # no length frame, no FB01
            peer.sendall(b"0123456789")
            assert link.read(4, 2) == b"0123"
            assert link.read(6, 2) == b"456789"
            peer.close()
            with pytest.raises(LinkClosed):
                link.read(1, 2)


def test_nothing_listening_is_a_connect_failure():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    with pytest.raises(ConnectFailed):
        AdbTcpTransport.connect("127.0.0.1", port, timeout=1)
