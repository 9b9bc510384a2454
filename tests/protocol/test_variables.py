import pytest

from flasher.protocol.variables import BadVariable, parse_size, parse_slot, parse_yes_no, split_all_line


@pytest.mark.parametrize("text, size", [("0x10000000", 256 << 20), ("268435456", 256 << 20), (" 0X20 ", 32)])
def test_sizes_in_hex_or_decimal(text, size):
    assert parse_size("max-download-size", text) == size


@pytest.mark.parametrize("text", ["", "big", "0xzz", "-5"])
def test_bad_sizes_are_named(text):
    with pytest.raises(BadVariable, match="max-download-size"):
        parse_size("max-download-size", text)


def test_yes_no():
    assert parse_yes_no("unlocked", "yes") is True
    assert parse_yes_no("unlocked", "no") is False
    with pytest.raises(BadVariable):
        parse_yes_no("unlocked", "maybe")


def test_slots_with_or_without_underscore():
    assert parse_slot("current-slot", "a") == "a"
    assert parse_slot("current-slot", "_b") == "b"
    with pytest.raises(BadVariable):
        parse_slot("current-slot", "ab")


@pytest.mark.parametrize("line, pair", [
    ("version:0.4", ("version", "0.4")),
    ("partition-size:boot_a:0x4000000", ("partition-size:boot_a", "0x4000000")),
    ("version-bootloader:ZTE:P01:1.0", ("version-bootloader", "ZTE:P01:1.0")),
    ("has-slot:boot:yes", ("has-slot:boot", "yes")),
    ("banner without colon", None),
])
def test_getvar_all_lines(line, pair):
    assert split_all_line(line) == pair
