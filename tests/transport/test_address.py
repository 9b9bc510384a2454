import pytest

from flasher.transport.address import Address, open_transport, parse_address
from flasher.transport.errors import BadAddress, ConnectFailed


@pytest.mark.parametrize("text, address", [
    ("tcp:127.0.0.10", Address("tcp", "127.0.0.10", 5554)),
    ("tcp:localhost:6000", Address("tcp", "localhost", 6000)),
    ("udp:127.0.0.2:5555", Address("udp", "127.0.0.2", 5555)),
    ("tcp:[::1]:5554", Address("tcp", "::1", 5554)),
    ("tcp:[fe80::1]", Address("tcp", "fe80::1", 5554)),
    ("usb:0123456789ABCDEF", Address("usb", "0123456789ABCDEF")),
    ("serial:/dev/ttyACM0", Address("serial", "/dev/ttyACM0")),
    ("serial:COM7", Address("serial", "COM7")),
])
def test_addresses_parse_like_the_aosp_client(text, address):
    assert parse_address(text) == address


def test_addresses_print_back():
    assert str(parse_address("tcp:[::1]:7000")) == "tcp:[::1]:7000"
    assert str(parse_address("usb:ABC")) == "usb:ABC"


@pytest.mark.parametrize("text", ["", "tcp", "tcp:", "bluetooth:x", "tcp:host:port", "tcp:host:70000",
                                  "tcp:[::1", "tcp::5554", "127.0.0.1:5554"])
def test_bad_addresses_are_named_errors(text):
    with pytest.raises(BadAddress) as info:
        parse_address(text)
    assert "tcp:HOST" in info.value.hint


def test_a_missing_serial_port_is_a_connect_failure():
    with pytest.raises(ConnectFailed, match="cannot open"):
        open_transport("serial:/dev/tsuf-no-such-port", connect_timeout=1.0)
