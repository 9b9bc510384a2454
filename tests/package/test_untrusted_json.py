"""The one bounded JSON loader every untrusted document goes through."""

import pytest

from flasher.errors import FlasherError
from flasher.package.untrusted_json import MAX_DEPTH, load_untrusted_json


def test_nesting_is_counted_outside_strings_only():
    brackets_in_a_string = b'{"build":"' + b"[" * 1000 + b'"}'
    assert load_untrusted_json(brackets_in_a_string, what="x", max_bytes=1 << 20, error=FlasherError) == {
        "build": "[" * 1000}
    exactly_deep_enough = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert load_untrusted_json(exactly_deep_enough, what="x", max_bytes=1 << 20, error=FlasherError)
    with pytest.raises(FlasherError, match="nests deeper"):
        load_untrusted_json(b"[" + exactly_deep_enough + b"]", what="x", max_bytes=1 << 20, error=FlasherError)


def test_size_is_checked_before_parsing():
    with pytest.raises(FlasherError, match="at most 10 are allowed"):
        load_untrusted_json(b"[" + b"1," * 10 + b"1]", what="x", max_bytes=10, error=FlasherError)
