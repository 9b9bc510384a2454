"""Argument types checked when the command line is parsed, so a bad value stops before any work.

argparse turns the ValueError these raise into `tsuf: error: argument --X: ...` and exit 2.
"""

import argparse
import math
import os
import re
import stat

# Longer than any handset takes, short enough that `monotonic() + value` and socket
# timeouts stay finite numbers.
MAX_SECONDS = 7 * 24 * 3600.0
# Commands are bounded by what a station does; argparse's own int() would take 10**4000.
MAX_DIGITS = 12


def positive_float(maximum: float, unit: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of {unit}") from None
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(f"{text[:40]!r}: give {unit} above 0 and at most {maximum:g}")
        return value
    parse.__name__ = unit  # argparse names the type in its messages
    return parse


seconds = positive_float(MAX_SECONDS, "seconds")
"""A positive number of seconds, at most a week."""


def integer(low: int, high: int):
    """An integer from `low` to `high`: counts, ports, limits."""
    def parse(text: str) -> int:
        digits = text.strip().lstrip("+-")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_DIGITS:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number from {low} to {high}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {low} to {high}")
        return value
    parse.__name__ = "integer"
    return parse


def iso_date(text: str) -> str:
    """A date or UTC time as reports store it: 2026-01-31 or 2026-01-31T12:00:00Z."""
    from datetime import datetime
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a date: give 2026-01-31 or "
                                         "2026-01-31T12:00:00Z") from None
    return text


def input_file(text: str) -> str:
    """An existing regular file: a device, pipe or folder would be read forever, block, or fail late."""
    try:
        found = os.stat(text)
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"{text[:80]!r}: {getattr(error, 'strerror', None) or error}") from None
    if not stat.S_ISREG(found.st_mode):
        kind = "a folder" if stat.S_ISDIR(found.st_mode) else "not a regular file"
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is {kind}; give a file")
    return text


def folder(text: str) -> str:
    """A folder, or a path where one can be made."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path; give a folder")
    try:
        found = os.stat(text)
    except FileNotFoundError:
        return text
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"{text[:80]!r}: {getattr(error, 'strerror', None) or error}") from None
    if not stat.S_ISDIR(found.st_mode):
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is not a folder")
    return text


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


def plain_name(text: str) -> str:
    """A name that becomes a file name: no folders, no hidden files, nothing a shell or terminal misreads."""
    if not _PLAIN_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: give 1 to 100 letters, digits, '.', '_' or '-', "
                                         "starting with a letter or digit")
    return text


def products(text: str) -> frozenset[str] | None:
    """`any`, or product names separated by commas (None means any)."""
    from ..package.roles import parse_products
    try:
        return parse_products(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def package_kinds(text: str) -> frozenset[str]:
    from ..package.roles import parse_kinds
    try:
        return parse_kinds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
