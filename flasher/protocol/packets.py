"""Wire-level constants and the encoding shared by the host and device halves."""

MAX_RESPONSE = 256
"""A response packet: 4 status bytes and at most 252 bytes of text."""

MAX_COMMAND_AOSP = 64
"""The longest command the AOSP 29.0.6 client and Qualcomm ABL accept."""

MAX_COMMAND = 4096
"""The longest command newer clients send; a device bounds what it parses by this."""

MAX_DATA = 0xFFFFFFFF
"""Data phase sizes are eight hex digits."""


def encode_data_size(size: int) -> str:
    if not 0 <= size <= MAX_DATA:
        raise ValueError(f"data size {size} does not fit in 32 bits")
    return f"{size:08x}"


def decode_text(raw: bytes) -> str:
    # Devices are meant to send ASCII; vendors send Latin-1 and UTF-8 too.
    return raw.decode("utf-8", errors="replace")
