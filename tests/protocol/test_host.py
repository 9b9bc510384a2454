import pytest

from flasher.protocol import errors
from flasher.protocol.events import DataReceived, DataStart, Fail, Info, Okay, Text
from flasher.protocol.host import HostProtocol, State


def test_getvar_round_trip():
    host = HostProtocol()
    assert host.send_command("getvar:product") == b"getvar:product"
    assert host.receive(b"OKAYzte_p01") == Okay("zte_p01")
    assert host.state is State.IDLE


def test_fail_carries_reason_and_frees_the_link():
    host = HostProtocol()
    host.send_command("flash:boot_a")
    assert host.receive(b"FAILpartition locked") == Fail("partition locked")
    host.send_command("getvar:version")  # the next command is allowed


def test_info_and_text_keep_the_command_open():
    host = HostProtocol()
    host.send_command("getvar:all")
    assert host.receive(b"INFOversion:0.4") == Info("version:0.4")
    assert host.receive(b"TEXTraw text") == Text("raw text")
    assert host.state is State.AWAIT_RESPONSE
    assert host.receive(b"OKAY") == Okay("")


def test_download_sends_exactly_the_announced_bytes():
    host = HostProtocol()
    host.send_command("download:00000010", send_size=16)
    assert host.receive(b"DATA00000010") == DataStart(16)
    assert host.state is State.SENDING_DATA
    host.data_sent(10)
    host.data_sent(6)
    assert host.state is State.AWAIT_RESPONSE
    assert host.receive(b"OKAY") == Okay("")


def test_download_refuses_to_send_more_than_announced():
    host = HostProtocol()
    host.send_command("download:00000004", send_size=4)
    host.receive(b"DATA00000004")
    with pytest.raises(errors.UsageError):
        host.data_sent(5)


def test_device_asking_for_a_different_download_size_is_an_error():
    host = HostProtocol()
    host.send_command("download:00000010", send_size=16)
    with pytest.raises(errors.DataSizeMismatch):
        host.receive(b"DATA00000020")
    assert host.state is State.BROKEN


def test_upload_data_is_bounded_by_the_limit():
    host = HostProtocol()
    host.send_command("fetch:boot_a:0x0:0x8", receive_limit=8)
    with pytest.raises(errors.DataSizeMismatch, match="announced 9 bytes"):
        host.receive(b"DATA00000009")


def test_upload_data_beyond_the_announced_size_is_an_error():
    host = HostProtocol()
    host.send_command("upload", receive_limit=100)
    assert host.receive(b"DATA00000004") == DataStart(4)
    assert host.receive(b"ab") == DataReceived(b"ab")
    with pytest.raises(errors.DataSizeMismatch, match="more than it announced"):
        host.receive(b"cde")


def test_upload_completes_then_okay():
    host = HostProtocol()
    host.send_command("upload", receive_limit=100)
    host.receive(b"DATA00000003")
    assert host.receive(b"abc") == DataReceived(b"abc")
    assert host.state is State.AWAIT_RESPONSE
    assert host.receive(b"OKAY") == Okay("")


def test_zero_size_data_phase_goes_straight_to_the_response():
    host = HostProtocol()
    host.send_command("upload", receive_limit=100)
    host.receive(b"DATA00000000")
    assert host.receive(b"OKAY") == Okay("")


@pytest.mark.parametrize("packet", [b"OKAY" + b"x" * 253, b"INFO" + b"y" * 1000])
def test_oversized_responses_are_rejected(packet):
    host = HostProtocol()
    host.send_command("getvar:product")
    with pytest.raises(errors.ResponseTooLong):
        host.receive(packet)


def test_a_256_byte_response_is_fine():
    host = HostProtocol()
    host.send_command("getvar:product")
    assert host.receive(b"OKAY" + b"p" * 252) == Okay("p" * 252)


@pytest.mark.parametrize("packet", [b"", b"OK", b"HELO there", b"\x00\x01\x02\x03", b"okay"])
def test_garbage_status_is_malformed(packet):
    host = HostProtocol()
    host.send_command("getvar:product")
    with pytest.raises(errors.MalformedResponse):
        host.receive(packet)


@pytest.mark.parametrize("packet", [b"DATA", b"DATA0000001", b"DATA0000001g", b"DATA000000100"])
def test_malformed_data_announcement(packet):
    host = HostProtocol()
    host.send_command("download:00000010", send_size=16)
    with pytest.raises(errors.MalformedResponse):
        host.receive(packet)


def test_data_phase_on_a_command_without_one():
    host = HostProtocol()
    host.send_command("getvar:product")
    with pytest.raises(errors.UnexpectedData):
        host.receive(b"DATA00000010")


def test_endless_info_is_cut_off():
    host = HostProtocol(max_info=50)
    host.send_command("flash:system_a")
    for _ in range(50):
        host.receive(b"INFOstill writing")
    with pytest.raises(errors.TooManyInfo):
        host.receive(b"INFOstill writing")


def test_commands_longer_than_the_device_buffer_are_refused_before_sending():
    host = HostProtocol()
    with pytest.raises(errors.CommandTooLong):
        host.send_command("getvar:" + "x" * 60)
    assert host.state is State.IDLE


def test_a_broken_conversation_refuses_further_commands():
    host = HostProtocol()
    host.send_command("getvar:product")
    with pytest.raises(errors.MalformedResponse):
        host.receive(b"????")
    with pytest.raises(errors.UsageError, match="broke the connection"):
        host.send_command("getvar:product")
