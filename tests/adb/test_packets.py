"""ADB's 24-byte header: what goes on the wire and what is refused."""

import struct

import pytest

from flasher.adb import packets
from flasher.adb.errors import BadMagic
from flasher.adb.packets import Command


def test_a_header_is_six_little_endian_words_ending_in_the_magic():
    raw = packets.encode_header(Command.OPEN, 7, 0, b"reboot:\0", with_checksum=True)
    assert raw[:4] == b"OPEN"
    assert struct.unpack("<6I", raw) == (Command.OPEN, 7, 0, 8, sum(b"reboot:\0"), Command.OPEN ^ 0xFFFFFFFF)
    header = packets.parse_header(raw)
    assert (header.name, header.arg0, header.length, header.checksum) == ("OPEN", 7, 8, sum(b"reboot:\0"))


def test_newer_peers_send_no_checksum():
    raw = packets.encode_header(Command.WRTE, 1, 2, b"\xff" * 10, with_checksum=False)
    assert packets.parse_header(raw).checksum == 0


def test_a_header_whose_magic_does_not_match_is_refused():
    raw = bytearray(packets.encode_header(Command.OKAY, 1, 2, with_checksum=False))
    raw[20] ^= 0x01
    with pytest.raises(BadMagic, match="magic"):
        packets.parse_header(bytes(raw))


def test_an_unknown_command_is_named_by_its_number():
    raw = packets.encode_header(0x12345678, 0, 0, with_checksum=False)
    assert packets.parse_header(raw).name == "0x12345678"
