"""The ADB codec, both ends: handshake, streams, flow control, and the peer's mistakes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasher.adb import packets
from flasher.adb.connection import MAX_STREAMS, AdbConnection, Role, parse_banner
from flasher.adb.errors import AdbProtocolError, BadChecksum, BadHandshake, BadMagic, PayloadTooLarge
from flasher.adb.events import (AuthRequested, Connected, OpenRequested, StreamClosed, StreamData,
                                StreamOpened)
from flasher.adb.packets import Command

DEVICE_BANNER = "sideload::ro.product.name=tsuf_zte_ab;ro.product.model=P855;features=cmd,shell_v2"


def deliver(sender: AdbConnection, receiver: AdbConnection) -> list:
    """Move what `sender` queued into `receiver`, one piece at a time; return the events."""
    for piece in sender.data_to_send():
        receiver.receive_data(piece)
    events = []
    while (event := receiver.next_event()) is not None:
        events.append(event)
    return events


def connected_pair(**device_options) -> tuple[AdbConnection, AdbConnection]:
    host = AdbConnection(Role.HOST, "host::features=")
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER, **device_options)
    host.connect()
    assert isinstance(deliver(host, device)[0], Connected)
    assert isinstance(deliver(device, host)[0], Connected)
    return host, device


def open_stream(host: AdbConnection, device: AdbConnection, service: str = "sideload-host:10:4096"):
    host_id = host.open(service)
    (request,) = deliver(host, device)
    device_id = device.accept(request)
    assert deliver(device, host) == [StreamOpened(host_id)]
    return host_id, device_id


def message(command: int, arg0: int, arg1: int, payload: bytes = b"", checksum: bool = False) -> bytes:
    return packets.encode_header(command, arg0, arg1, payload, with_checksum=checksum) + payload


def test_the_handshake_tells_the_host_the_devices_state_and_properties():
    host = AdbConnection(Role.HOST, "host::features=")
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER)
    host.connect()
    (hello,) = deliver(host, device)
    assert hello.state == "host"
    (answer,) = deliver(device, host)
    assert answer.state == "sideload"
    assert answer.properties == {"ro.product.name": "tsuf_zte_ab", "ro.product.model": "P855"}
    assert answer.features == {"cmd", "shell_v2"}
    assert (answer.version, answer.max_payload) == (packets.VERSION, packets.MAX_PAYLOAD)
    assert host.online and device.online


def test_a_cnxn_carries_its_checksum_and_other_messages_do_not_between_new_peers():
    host = AdbConnection(Role.HOST, "host::")
    host.connect()
    header, banner = host.data_to_send()
    assert packets.parse_header(header).checksum == sum(banner)
    host, device = connected_pair()
    host.open("reboot:")
    assert packets.parse_header(host.data_to_send()[0]).checksum == 0


def test_an_old_peer_gets_checksums_and_a_wrong_one_is_refused():
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER)
    device.receive_data(message(Command.CNXN, packets.VERSION_MIN, 4096, b"host::", checksum=True))
    assert device.next_event().version == packets.VERSION_MIN
    cnxn_header, _banner = device.data_to_send()
    assert packets.parse_header(cnxn_header).arg1 == 4096  # the agreed payload size
    device.receive_data(packets.encode_header(Command.OPEN, 1, 0, b"reboot:\0", with_checksum=False) + b"reboot:\0")
    with pytest.raises(BadChecksum):
        device.next_event()


def test_a_payload_larger_than_offered_is_refused_from_its_header_alone():
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER, max_payload=4096)
    header = packets.encode_header(Command.WRTE, 1, 1, b"", with_checksum=False)
    forged = header[:12] + (4097).to_bytes(4, "little") + header[16:]
    device.receive_data(forged)  # no payload follows: it must not be waited for
    with pytest.raises(PayloadTooLarge, match="4097 bytes"):
        device.next_event()


def test_a_broken_magic_is_refused():
    host = AdbConnection(Role.HOST, "host::")
    raw = bytearray(message(Command.CNXN, packets.VERSION, 4096, b"device::"))
    raw[23] ^= 0xFF
    host.receive_data(bytes(raw))
    with pytest.raises(BadMagic):
        host.next_event()


@pytest.mark.parametrize("version, max_payload, why", [
    (0x00FFFFFF, 4096, "version"),
    (packets.VERSION, 16, "payloads of 16 bytes"),
])
def test_a_cnxn_the_host_cannot_work_with_is_refused(version, max_payload, why):
    host = AdbConnection(Role.HOST, "host::")
    host.receive_data(message(Command.CNXN, version, max_payload, b"sideload::", checksum=True))
    with pytest.raises(BadHandshake, match=why):
        host.next_event()


def test_data_is_cut_to_the_agreed_payload_and_waits_for_each_okay():
    host = AdbConnection(Role.HOST, "host::", max_payload=1024)
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER)
    host.connect()
    deliver(host, device)
    deliver(device, host)
    host_id, device_id = open_stream(host, device)
    data = bytes(range(256)) * 10
    device.send(device_id, data)  # 2560 bytes: payloads of at most the host's 1024
    received = []
    while device.unacknowledged(device_id):
        pieces = device.data_to_send()
        assert len(pieces) == 2  # one WRTE, header and payload: the next waits for the OKAY
        assert packets.parse_header(pieces[0]).length == len(pieces[1]) <= 1024
        for piece in pieces:
            host.receive_data(piece)
        received.append(host.next_event().data)
        deliver(host, device)  # the OKAY
    assert [len(piece) for piece in received] == [1024, 1024, 512]
    assert b"".join(received) == data


def test_a_refused_open_closes_the_stream_it_would_have_been():
    host, device = connected_pair()
    host_id = host.open("shell:ls")
    (request,) = deliver(host, device)
    device.refuse(request)
    header, = device.data_to_send()
    assert packets.parse_header(header).arg0 == 0  # CLSE(0, host id)
    host.receive_data(header)
    assert host.next_event() == StreamClosed(host_id)


def test_closing_waits_for_queued_data_then_sends_clse():
    host, device = connected_pair()
    host_id, device_id = open_stream(host, device)
    device.send(device_id, b"DONEDONE")
    device.close(device_id)
    events = deliver(device, host)
    assert events == [StreamData(host_id, b"DONEDONE"), StreamClosed(host_id)]


def test_close_with_data_waiting_for_okay_sends_it_first():
    host, device = connected_pair()
    host_id, device_id = open_stream(host, device)
    device.send(device_id, b"a" * 70000)
    device.send(device_id, b"b")
    device.close(device_id)
    assert deliver(device, host) == [StreamData(host_id, b"a" * 70000)]
    deliver(host, device)  # the OKAY releases the rest, then the close
    assert deliver(device, host) == [StreamData(host_id, b"b"), StreamClosed(host_id)]


def test_messages_for_unknown_streams_are_ignored():
    host, device = connected_pair()
    device.receive_data(message(Command.WRTE, 9, 99, b"stray"))
    device.receive_data(message(Command.OKAY, 9, 99))
    device.receive_data(message(Command.CLSE, 9, 99))
    assert device.next_event() is None
    assert device.data_to_send() == []


def test_a_write_from_a_wrong_remote_id_is_ignored():
    host, device = connected_pair()
    host_id, device_id = open_stream(host, device)
    host.receive_data(message(Command.WRTE, device_id + 1, host_id, b"spoofed"))
    assert host.next_event() is None


def test_the_host_asked_to_authenticate_says_so():
    host = AdbConnection(Role.HOST, "host::")
    host.receive_data(message(Command.AUTH, packets.AUTH_TOKEN, 0, b"t" * 20))
    assert host.next_event() == AuthRequested("AUTH", b"t" * 20)


def test_a_device_ignores_auth_it_never_asked_for_and_everything_before_cnxn():
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER)
    device.receive_data(message(Command.AUTH, packets.AUTH_SIGNATURE, 0, b"s" * 256))
    device.receive_data(message(Command.OPEN, 1, 0, b"reboot:\0"))
    assert device.next_event() is None


def test_unknown_commands_are_skipped_with_their_payload():
    host, device = connected_pair()
    device.receive_data(message(0x31313131, 0, 0, b"x" * 100) + message(Command.OPEN, 5, 0, b"reboot:\0"))
    assert device.next_event() == OpenRequested(5, "reboot:")


def test_a_device_refuses_streams_past_its_limit():
    host, device = connected_pair()
    for number in range(1, MAX_STREAMS + 1):
        device.receive_data(message(Command.OPEN, number, 0, b"reboot:\0"))
        device.accept(device.next_event())
    device.data_to_send()
    device.receive_data(message(Command.OPEN, 500, 0, b"reboot:\0"))
    assert device.next_event() is None
    (refusal,) = device.data_to_send()
    assert packets.parse_header(refusal).command == Command.CLSE


def test_a_new_cnxn_starts_over_and_forgets_every_stream():
    host, device = connected_pair()
    host_id, device_id = open_stream(host, device)
    fresh = AdbConnection(Role.HOST, "host::")
    fresh.connect()
    assert isinstance(deliver(fresh, device)[0], Connected)
    device.data_to_send()
    with pytest.raises(ValueError):
        device.send(device_id, b"00000000")


def test_read_size_asks_for_exactly_the_rest_of_a_part():
    device = AdbConnection(Role.DEVICE, DEVICE_BANNER)
    assert device.read_size == 24
    raw = message(Command.CNXN, packets.VERSION, 4096, b"host::", checksum=True)
    device.receive_data(raw[:10])
    assert device.read_size == 14
    device.receive_data(raw[10:24])
    assert device.next_event() is None
    assert device.read_size == len(b"host::")


@pytest.mark.parametrize("banner, state, properties", [
    (b"device::ro.product.name=x;ro.product.model=y;\0", "device", {"ro.product.name": "x", "ro.product.model": "y"}),
    (b"recovery::", "recovery", {}),
    (b"bootloader", "bootloader", {}),
    (b"sideload::weird;=;k=v=w", "sideload", {"k": "v=w"}),
])
def test_banners_read_as_aosp_reads_them(banner, state, properties):
    assert parse_banner(banner)[:2] == (state, properties)


@pytest.mark.parametrize("module", ["packets", "connection", "events", "errors"])
def test_the_codec_does_no_io(module):
    from tests.test_architecture import FLASHER, _imports
    imported = _imports(FLASHER / "adb" / f"{module}.py")
    assert not {name for name in imported if name.split(".")[0] in
                ("socket", "select", "usb", "io", "os", "threading", "asyncio")}
    assert not {name for name in imported if name.startswith(("flasher.transport", "flasher.virtual"))}


_COMMANDS = st.sampled_from([*Command, 0x41414141])
_WORDS = st.integers(0, 0xFFFFFFFF)


@given(st.lists(st.tuples(_COMMANDS, _WORDS, _WORDS, st.binary(max_size=64)), max_size=12), st.sampled_from(Role),
       st.booleans())
def test_any_messages_give_events_or_a_named_error(messages, role, with_checksum):
    connection = AdbConnection(role, "x::", max_payload=4096)
    if role is Role.HOST:
        connection.connect()
    for command, arg0, arg1, payload in messages:
        connection.receive_data(packets.encode_header(command, arg0, arg1, payload, with_checksum=with_checksum)
                                + payload)
    try:
        while connection.next_event() is not None:
            pass
    except AdbProtocolError:
        pass


@given(st.binary(max_size=4000))
def test_any_bytes_give_events_or_a_named_error_and_stay_bounded(data):
    connection = AdbConnection(Role.DEVICE, "sideload::", max_payload=1024)
    try:
        for start in range(0, len(data), 7):
            connection.receive_data(data[start:start + 7])
            while connection.next_event() is not None:
                pass
            assert connection.read_size <= 1024
    except AdbProtocolError:
        pass
