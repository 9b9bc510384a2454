"""Applying an operation's bsdiff patch: BSDIFF40 (bz2 streams) or BSDF2 (each stream raw, bz2 or brotli).

update_engine's SOURCE_BSDIFF and BROTLI_BSDIFF take either format (Android's bspatch
reads both); BSDF2's header names each stream's compressor. The header is checked
against the manifest's sizes, every stream is decompressed with a cap and every
control triple checked before bsdiff4 applies it (flasher/delta/bsdiff.py holds the
BSDIFF40 reader and the checks both formats share). Other formats (Endsley's
BSDIFF43, puffdiff, zucchini) are refused by name.
"""

from __future__ import annotations

import bz2

import brotli

from ..delta.bsdiff import DecodedPatch, apply_decoded, check_control, decode_int64, decode_patch
from ..delta.errors import PatchRejected
from .errors import MalformedPayload, UnsupportedOperation

BSDF2 = b"BSDF2"
BSDIFF40 = b"BSDIFF40"
HEADER_SIZE = 32
RAW, BZ2, BROTLI = 0, 1, 2
COMPRESSORS = {RAW: "raw", BZ2: "bz2", BROTLI: "brotli"}


def apply_bsdiff(source: bytes, patch: bytes, target_size: int, where: str) -> bytes:
    try:
        if patch.startswith(BSDIFF40):
            decoded = decode_patch(patch, target_size)
        elif patch.startswith(BSDF2):
            decoded = _decode_bsdf2(patch, target_size)
        else:
            raise UnsupportedOperation(f"{where}: a patch in format {patch[:8]!r}, neither BSDIFF40 nor BSDF2; "
                                       "nothing was written")
        return apply_decoded(source, decoded)
    except PatchRejected as error:
        raise MalformedPayload(f"{where}: {error}") from None


def _decode_bsdf2(patch: bytes, target_size: int) -> DecodedPatch:
    if len(patch) < HEADER_SIZE:
        raise PatchRejected("a BSDF2 patch shorter than its header")
    kinds = patch[5:8]
    if any(kind not in COMPRESSORS for kind in kinds):
        raise PatchRejected(f"a BSDF2 patch names unknown compressors {list(kinds)}")
    control_length, diff_length, output_size = (decode_int64(patch[at:at + 8]) for at in (8, 16, 24))
    if output_size != target_size:
        raise PatchRejected(f"the patch declares {output_size} output bytes; the operation writes {target_size}")
    if control_length < 0 or diff_length < 0 or HEADER_SIZE + control_length + diff_length > len(patch):
        raise PatchRejected("the patch declares streams that do not fit in it")
    diff_at = HEADER_SIZE + control_length
    extra_at = diff_at + diff_length
    control = _inflate(patch[HEADER_SIZE:diff_at], kinds[0], 3 * target_size + 24, "control")
    diff = _inflate(patch[diff_at:extra_at], kinds[1], target_size, "diff")
    extra = _inflate(patch[extra_at:], kinds[2], target_size, "extra")
    check_control(control, target_size, len(diff), len(extra))
    return DecodedPatch(target_size, control, diff, extra)


def _inflate(stream: bytes, kind: int, limit: int, name: str) -> bytes:
    if kind == RAW:
        data = stream
    elif kind == BZ2:
        decompressor = bz2.BZ2Decompressor()
        try:
            data = decompressor.decompress(stream, max_length=limit + 1)
        except (OSError, ValueError) as error:
            raise PatchRejected(f"the patch's {name} stream is not valid bz2 ({error})") from None
        if len(data) <= limit and not decompressor.eof:
            raise PatchRejected(f"the patch's {name} stream is truncated")
    else:
        decompressor = brotli.Decompressor()
        try:
            data = decompressor.process(stream, output_buffer_limit=limit + 1)
        except brotli.error as error:
            raise PatchRejected(f"the patch's {name} stream is not valid brotli ({error})") from None
        if len(data) <= limit and not decompressor.is_finished():
            raise PatchRejected(f"the patch's {name} stream is truncated")
    if len(data) > limit:
        raise PatchRejected(f"the patch's {name} stream expands past {limit} bytes")
    return data
