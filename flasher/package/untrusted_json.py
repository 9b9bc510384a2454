"""JSON from anyone (manifests, catalogs, indexes, description files), parsed only within bounds.

Python's parser recurses once per nesting level and turns any run of digits into an int,
so an unbounded document ends in RecursionError or in the int-size ValueError that
names `sys.set_int_max_str_digits()`. Size, nesting and number length are checked
first here, and each refusal is the caller's own named error.
"""

from __future__ import annotations

import json
import re

from ..errors import FlasherError

# TSUF's own documents nest 6 levels at most (a manifest's delta windows).
MAX_DEPTH = 16
# 2^64 has 20 digits; no field of any TSUF document is larger.
MAX_NUMBER_DIGITS = 20

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def load_untrusted_json(data: bytes, *, what: str, max_bytes: int, error: type[FlasherError],
                        max_depth: int = MAX_DEPTH):
    """The value of `data`, or `error` naming `what` and the bound it breaks.

    Refuses duplicate keys, NaN and Infinity, numbers longer than MAX_NUMBER_DIGITS
    digits, and documents nested deeper than `max_depth` or larger than `max_bytes`.
    """
    if len(data) > max_bytes:
        raise error(f"{what} is {len(data)} bytes; at most {max_bytes} are allowed")
    if _depth_exceeds(data, max_depth):
        raise error(f"{what} nests deeper than {max_depth} levels")
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys,
                          parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_bounded_float)
    except _TooLong as number:
        raise error(f"{what} holds a number of {number.digits} digits; at most {MAX_NUMBER_DIGITS} "
                    "are allowed") from None
    except (UnicodeDecodeError, ValueError) as problem:
        raise error(f"{what} is not valid JSON: {problem}") from None


def _depth_exceeds(data: bytes, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than `max_depth`: each pass removes the
    innermost level, in C, so the cost is bounded by max_depth passes over the data."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            return False  # all gone, or unbalanced: the parser names that
    return bool(brackets) and _INNERMOST.search(brackets) is not None


class _TooLong(ValueError):
    def __init__(self, digits: int):
        super().__init__(digits)
        self.digits = digits


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _TooLong(len(text.lstrip("-")))
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > 2 * MAX_NUMBER_DIGITS:
        raise _TooLong(len(text))
    return float(text)


def _refuse_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys[:20]}")
    return dict(pairs)


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number")
