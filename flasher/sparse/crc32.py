"""CRC32 over long constant runs without touching every byte.

A sparse image's CRC32 chunk covers the expanded data, and a hostile (or just
large) image can declare terabytes of FILL or DONT_CARE. Hashing those bytes one
by one would let a 100-byte file keep the host busy for hours, so constant runs
are folded in with zlib's crc32_combine arithmetic: O(log n) instead of O(n).
The CRC itself is zlib's (the same polynomial and conditioning libsparse uses).
"""

from __future__ import annotations

import zlib

_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    # Multiply a by b modulo the CRC polynomial (bit-reflected), as zlib does.
    m = 1 << 31
    p = 0
    while m:
        if a & m:
            p ^= b
            if not a & (m - 1):
                break
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return p


def _make_x2n_table() -> list[int]:
    table = [1 << 30]  # x^1
    for _ in range(31):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _make_x2n_table()


def _x8nmodp(nbytes: int) -> int:
    # x^(8 * nbytes) modulo the polynomial.
    p = 1 << 31  # x^0
    k = 3
    while nbytes:
        if nbytes & 1:
            p = _multmodp(_X2N[k & 31], p)
        nbytes >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC of A+B from crc(A), crc(B) and len(B)."""
    if len2 <= 0:
        return crc1
    return _multmodp(_x8nmodp(len2), crc1) ^ crc2


def crc32_repeat(pattern: bytes, length: int, crc: int = 0) -> int:
    """Extend `crc` by `length` bytes of `pattern` repeated (length may end mid-pattern)."""
    if length <= 0:
        return crc
    if length <= 1 << 16:
        unit = pattern * (length // len(pattern) + 1)
        return zlib.crc32(memoryview(unit)[:length], crc)
    count, tail = divmod(length, len(pattern))
    # Binary doubling: crc of pattern * count in O(log count) combines.
    acc_crc, acc_len = 0, 0
    pw_crc, pw_len = zlib.crc32(pattern), len(pattern)
    while count:
        if count & 1:
            acc_crc = crc32_combine(acc_crc, pw_crc, pw_len)
            acc_len += pw_len
        count >>= 1
        if count:
            pw_crc = crc32_combine(pw_crc, pw_crc, pw_len)
            pw_len *= 2
    crc = crc32_combine(crc, acc_crc, acc_len)
    return zlib.crc32(pattern[:tail], crc)
