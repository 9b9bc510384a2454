"""Strings a device sends (serial number, product, variables, FAIL and INFO text), made safe
to use as a file name and to show on a terminal.

A device chooses these strings, so they are hostile: `../../x` must not leave the station's
folders, and `\\x1b]0;...\\x07` must not drive the terminal. Code that turns a device string
into a path calls `file_key`; code that prints one calls `printable`.
"""

import re

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9-]+")  # dots too: Windows reads `CON.x-hash` as CON
_STEM_LENGTH = 40
_HASH_LENGTH = 16
# Names Windows refuses (or maps to a device) whatever their extension.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)),
                     *(f"LPT{n}" for n in range(1, 10))}

DEFAULT_LIMIT = 80
"""The most characters `printable` shows of one string unless told otherwise."""


def file_key(text: str) -> str:
    """A file (or folder) name for a device-provided string. A plain serial such as `ZTE0001`
    is kept as it is; anything else becomes its safe characters plus a hash of the whole
    string, so two different strings never share a name and no name leaves its folder."""
    if _PLAIN_NAME.fullmatch(text) and not text.endswith(".") \
            and text.split(".")[0].upper() not in _WINDOWS_RESERVED:
        return text
    stem = _UNSAFE_RUN.sub("_", text).strip("_-")[:_STEM_LENGTH] or "device"
    import hashlib  # here, not above: printing a device's words (every command) need not load OpenSSL
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
    return f"{stem}-{digest}"


def printable(text: str, limit: int | None = DEFAULT_LIMIT) -> str:
    """`text` with every control or other non-printable character written as an escape
    (`\\x1b`, `\\u202e`), cut to `limit` characters (ending in '…') unless limit is None."""
    pieces = [char if char.isprintable() else _escape(char) for char in text]
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    shown, room = [], limit - 1
    for piece in pieces:
        if len(piece) > room:
            break  # never cut an escape in half
        shown.append(piece)
        room -= len(piece)
    return "".join(shown) + "…"


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
