"""Device strings as file names and on the terminal: whatever a device sends."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasher.device_text import DEFAULT_LIMIT, file_key, printable

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@pytest.mark.parametrize("serial", ["ZTE0001", "VH000001", "0123456789abcdef", "R58M-12.x_9", "a" * 64])
def test_a_plain_serial_is_its_own_file_name(serial):
    assert file_key(serial) == serial


@pytest.mark.parametrize("serial", ["../../../../tmp/x", "..", ".", "", "a/b", "a\\b", "C:x", "x.", "con",
                                    "CON.txt", "lpt9", "a" * 65, "\x1b[2J\x1b]0;pwned\x07", "Zürich", "-rf",
                                    "a\x00b", " VH1"])
def test_anything_else_gets_a_safe_name_with_a_hash(serial):
    key = file_key(serial)
    assert key != serial and SAFE_NAME.fullmatch(key) and len(key) <= 64
    assert re.fullmatch(r".+-[0-9a-f]{16}", key)
    assert key.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT9"}


@given(st.text(max_size=200))
def test_every_key_is_one_plain_name_inside_its_folder(tmp_path, text):
    key = file_key(text)
    assert SAFE_NAME.fullmatch(key) and len(key) <= 64 and not key.endswith(".")
    assert (tmp_path / key).resolve().parent == tmp_path.resolve()


@given(st.text(max_size=40), st.text(max_size=40))
def test_two_different_serials_never_share_a_name(first, second):
    if first != second:
        assert file_key(first) != file_key(second)


def test_hostile_serials_that_clean_up_alike_still_differ():
    assert file_key("../x") != file_key("/x") != file_key("x/")


def test_printable_escapes_controls_and_keeps_text():
    assert printable("\x1b[2J\x1b]0;pwned\x07") == "\\x1b[2J\\x1b]0;pwned\\x07"
    assert printable("a\nb\tc\r\x7f\x9b") == "a\\x0ab\\x09c\\x0d\\x7f\\x9b"
    assert printable("evil\u202etxt.exe") == "evil\\u202etxt.exe"  # a right-to-left override
    assert printable("ZTE Blade A72 Zürich ✓") == "ZTE Blade A72 Zürich ✓"


def test_printable_is_bounded_and_never_cuts_an_escape():
    assert len(printable("x" * 1000)) == DEFAULT_LIMIT
    assert printable("ab\x1bcd", 5) == "ab…"
    assert printable("ab\x1bcd", 7) == "ab\\x1b…"
    assert printable("abc", 3) == "abc"
    assert len(printable("x" * 1000, None)) == 1000


@given(st.text(max_size=300), st.one_of(st.none(), st.integers(min_value=1, max_value=100)))
def test_printable_output_is_always_printable(text, limit):
    shown = printable(text, limit)
    assert shown.isprintable()
    assert limit is None or len(shown) <= limit
