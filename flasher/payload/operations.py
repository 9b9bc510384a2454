"""The install operations of update_metadata.proto by number, and which of them TSUF applies."""

from __future__ import annotations

NAMES = {
    0: "REPLACE", 1: "REPLACE_BZ", 2: "MOVE", 3: "BSDIFF", 4: "SOURCE_COPY", 5: "SOURCE_BSDIFF", 6: "ZERO",
    7: "DISCARD", 8: "REPLACE_XZ", 9: "PUFFDIFF", 10: "BROTLI_BSDIFF", 11: "ZUCCHINI", 12: "LZ4DIFF_BSDIFF",
    13: "LZ4DIFF_PUFFDIFF",
}
REPLACE, REPLACE_BZ, SOURCE_COPY, SOURCE_BSDIFF, ZERO, DISCARD, REPLACE_XZ, BROTLI_BSDIFF = 0, 1, 4, 5, 6, 7, 8, 10

WITH_DATA = frozenset({REPLACE, REPLACE_BZ, REPLACE_XZ, SOURCE_BSDIFF, BROTLI_BSDIFF})
FROM_SOURCE = frozenset({SOURCE_COPY, SOURCE_BSDIFF, BROTLI_BSDIFF})
DIFFS = frozenset({SOURCE_BSDIFF, BROTLI_BSDIFF})
APPLIED = frozenset({REPLACE, REPLACE_BZ, REPLACE_XZ, ZERO, DISCARD, SOURCE_COPY, SOURCE_BSDIFF, BROTLI_BSDIFF})


def name_of(op_type: int) -> str:
    return NAMES.get(op_type, f"unknown operation {op_type}")
