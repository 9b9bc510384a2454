import pytest

from flasher.protocol import errors
from flasher.protocol.device import Command, DeviceProtocol, DownloadData


@pytest.mark.parametrize("packet, command", [
    (b"getvar:partition-size:boot_a", Command("getvar", "partition-size:boot_a")),
    (b"download:00001000", Command("download", "00001000")),
    (b"flash:system_b", Command("flash", "system_b")),
    (b"set_active:b", Command("set_active", "b")),
    (b"reboot-bootloader", Command("reboot-bootloader", "")),
    (b"reboot", Command("reboot", "")),
    (b"oem device-info", Command("oem", "device-info")),
    (b"flashing get_unlock_ability", Command("flashing", "get_unlock_ability")),
    (b"fetch:boot_a:0x00000000:0x00001000", Command("fetch", "boot_a:0x00000000:0x00001000")),
])
def test_commands_parse(packet, command):
    assert DeviceProtocol().receive(packet) == command
    assert command.text == packet.decode()


def test_download_counts_bytes_across_packets():
    device = DeviceProtocol()
    device.receive(b"download:00000006")
    assert device.start_download(6) == b"DATA00000006"
    assert device.receive(b"abc") == DownloadData(b"abc", False)
    assert device.expecting_data == 3
    assert device.receive(b"def") == DownloadData(b"def", True)
    assert device.okay() == b"OKAY"


def test_download_overrun_is_an_error():
    device = DeviceProtocol()
    device.start_download(2)
    with pytest.raises(errors.DataSizeMismatch):
        device.receive(b"abc")


def test_responses_are_cut_to_256_bytes():
    assert len(DeviceProtocol().fail("x" * 1000)) == 256


def test_cannot_respond_in_the_middle_of_a_download():
    device = DeviceProtocol()
    device.start_download(4)
    with pytest.raises(errors.UsageError):
        device.okay()


def test_upload_must_send_what_it_announced():
    device = DeviceProtocol()
    assert device.start_upload(4) == b"DATA00000004"
    device.sent(4)
    assert device.okay() == b"OKAY"
    with pytest.raises(errors.UsageError):
        device.sent(1)


def test_oversized_command_is_refused():
    with pytest.raises(errors.CommandTooLong):
        DeviceProtocol(max_command=64).receive(b"getvar:" + b"x" * 64)
