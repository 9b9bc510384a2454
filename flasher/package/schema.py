"""Field checkers shared by the manifest's parts: every value typed and bounded, no unknown field."""

from __future__ import annotations

import re

from .errors import ManifestError

GiB = 1 << 30
MAX_IMAGE_SIZE = 64 * GiB
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z")
SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def fields_of(value, expected: set[str], what: str) -> dict:
    if not isinstance(value, dict):
        raise ManifestError(f"{what} must be a JSON object")
    if missing := expected - value.keys():
        raise ManifestError(f"{what} lacks {', '.join(sorted(missing))}")
    if extra := value.keys() - expected:
        raise ManifestError(f"{what} has unknown fields {', '.join(sorted(extra))}")
    return value


def string(fields: dict, name: str) -> str:
    if not isinstance(fields[name], str):
        raise ManifestError(f"{name} must be a string")
    return fields[name]


def identifier(fields: dict, name: str) -> str:
    value = string(fields, name)
    if not IDENTIFIER.match(value):
        raise ManifestError(f"{name} {value!r} must be 1 to 128 of letters, digits and ._+-")
    return value


def sha256(fields: dict, name: str, what: str) -> str:
    value = string(fields, name)
    if not SHA256.match(value):
        raise ManifestError(f"{what}: {name} must be 64 lower-case hex digits")
    return value


def integer(fields: dict, name: str, low: int, high: int) -> int:
    value = fields[name]
    # bool is an int in Python; `true` is not a size.
    if type(value) is not int or not low <= value <= high:
        raise ManifestError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def bounded_list(fields: dict, name: str, low: int, high: int) -> list:
    value = fields[name]
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise ManifestError(f"{name} must be a list of {low} to {high} items")
    return value
