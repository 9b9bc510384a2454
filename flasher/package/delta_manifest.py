"""The delta part of a manifest: how each target image is made from the source build's image.

A delta entry says which source image it applies to (build, size, SHA-256) and how:
`copy` (unchanged), `whole` (carried complete in images/) or `patch` (windows, their
BSDIFF40 patches in patches/<partition>.bsdiff, one after another). A version 1 patch
window is one source range patched; a version 2 window (`"version": 2`) is a list of
block operations (copy from anywhere in the source, fill with a pattern, or take the
next bytes of the window's patch, made against its reference extents). Every window
bounds what applying it holds in memory: what it reads, its target and its patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ManifestError
from .schema import MAX_IMAGE_SIZE, bounded_list, fields_of, identifier, integer, sha256

MiB = 1 << 20
DELTA_METHODS = ("copy", "patch", "whole")
# A patch entry without "version" is version 1 (one source range per window).
BLOCK_VERSION = 2
OP_KINDS = ("copy", "fill", "diff")
FILL_PATTERN_SIZE = 4
# Operations of one window, and of a whole package: a 64 MiB window holds 16384 4 KiB blocks.
MAX_WINDOW_OPS = 16384
MAX_OPS = 65536
MAX_REFERENCE_EXTENTS = 64
# 2048 windows of ~330 bytes of JSON keep the manifest under its 1 MiB limit.
MAX_WINDOWS = 2048
MAX_WINDOW_TARGET = 64 * MiB
MAX_WINDOW_SOURCE = 128 * MiB
PATCH_HEADER_SIZE = 32
_DELTA_FIELDS = {"copy": {"method", "source_build", "source_size", "source_sha256"},
                 "patch": {"method", "source_build", "source_size", "source_sha256", "windows"},
                 "whole": {"method", "source_build"}}
_WINDOW_FIELDS = {"source_offset", "source_size", "source_sha256", "target_offset", "target_size",
                  "target_sha256", "patch_size", "patch_sha256"}


def max_patch_size(target_size: int) -> int:
    # A patch of incompressible data is its bz2 form: barely longer than the data.
    return target_size + target_size // 8 + 64 * 1024


@dataclass(frozen=True)
class DeltaWindow:
    """Target bytes [target_offset, +target_size) are source bytes [source_offset, +source_size) patched."""

    source_offset: int
    source_size: int
    source_sha256: str
    target_offset: int
    target_size: int
    target_sha256: str
    patch_size: int
    patch_sha256: str

    @property
    def ops(self) -> tuple[BlockOp, ...]:
        return (BlockOp("diff", self.target_size),)

    @property
    def diff_size(self) -> int:
        return self.target_size

    @property
    def reference(self) -> tuple[tuple[int, int], ...]:
        return ((self.source_offset, self.source_size),) if self.source_size else ()

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class BlockOp:
    """The next `length` target bytes: source bytes at `source_offset` (copy), `pattern` repeated
    (fill), or the next bytes the window's patch makes (diff)."""

    kind: str
    length: int
    source_offset: int = 0
    pattern: bytes = b""

    def to_list(self) -> list:
        return {"copy": ["copy", self.source_offset, self.length], "fill": ["fill", self.length, self.pattern.hex()],
                "diff": ["diff", self.length]}[self.kind]


@dataclass(frozen=True)
class BlockWindow:
    """Target bytes [target_offset, +target_size) made by `ops` in order (version 2).

    The diff ops' bytes, back to back, are what the patch makes from the `reference` extents
    of the source, back to back. `source_sha256` covers every source byte the window reads:
    its copy ops' ranges in op order, then its reference extents.
    """

    target_offset: int
    target_size: int
    target_sha256: str
    source_sha256: str
    ops: tuple[BlockOp, ...]
    reference: tuple[tuple[int, int], ...]
    patch_size: int
    patch_sha256: str

    @property
    def diff_size(self) -> int:
        return sum(op.length for op in self.ops if op.kind == "diff")

    def to_dict(self) -> dict:
        return {"target_offset": self.target_offset, "target_size": self.target_size,
                "target_sha256": self.target_sha256, "source_sha256": self.source_sha256,
                "ops": [op.to_list() for op in self.ops], "reference": [list(extent) for extent in self.reference],
                "patch_size": self.patch_size, "patch_sha256": self.patch_sha256}


@dataclass(frozen=True)
class DeltaEntry:
    method: str
    source_build: str
    source_size: int = 0
    source_sha256: str = ""
    windows: tuple[DeltaWindow | BlockWindow, ...] = ()
    version: int = 1

    @property
    def op_count(self) -> int:
        return sum(len(window.ops) for window in self.windows)

    @property
    def needs_source(self) -> bool:
        return self.method != "whole"

    @property
    def patch_size(self) -> int:
        """Length of patches/<partition>.bsdiff: the windows' patches, back to back."""
        return sum(window.patch_size for window in self.windows)

    def patch_offsets(self) -> list[int]:
        offsets, at = [], 0
        for window in self.windows:
            offsets.append(at)
            at += window.patch_size
        return offsets

    def to_dict(self) -> dict:
        data = {"method": self.method, "source_build": self.source_build}
        if self.method != "whole":
            data.update(source_size=self.source_size, source_sha256=self.source_sha256)
        if self.method == "patch":
            data["windows"] = [window.to_dict() for window in self.windows]
            if self.version != 1:
                data["version"] = self.version
        return data


def parse_delta(value, partition: str, target_size: int, target_sha256: str) -> DeltaEntry:
    """Check one image's delta object against the image it makes."""
    if not isinstance(value, dict) or value.get("method") not in DELTA_METHODS:
        raise ManifestError(f"image {partition}: delta must be an object whose method is one of {DELTA_METHODS}")
    method = value["method"]
    versioned = method == "patch" and "version" in value
    fields_of(value, _DELTA_FIELDS[method] | ({"version"} if versioned else set()), f"image {partition} delta")
    version = _version(value) if versioned else 1
    source_build = identifier(value, "source_build")
    if method == "whole":
        return DeltaEntry(method, source_build)
    source_size = integer(value, "source_size", 1, MAX_IMAGE_SIZE)
    source_sha256 = sha256(value, "source_sha256", f"image {partition}")
    if method == "copy":
        if (source_size, source_sha256) != (target_size, target_sha256):
            raise ManifestError(f"image {partition}: a copy's source must be the target image itself")
        return DeltaEntry(method, source_build, source_size, source_sha256)
    items = bounded_list(value, "windows", 1, MAX_WINDOWS)
    read_window = _block_window if version == BLOCK_VERSION else _window
    windows = tuple(read_window(item, partition, source_size) for item in items)
    at = 0
    for window in windows:
        if window.target_offset != at:
            raise ManifestError(f"image {partition}: windows must cover the target in order, without gaps")
        at += window.target_size
    if at != target_size:
        raise ManifestError(f"image {partition}: windows cover {at} bytes of a {target_size}-byte image")
    entry = DeltaEntry(method, source_build, source_size, source_sha256, windows, version)
    if entry.op_count > MAX_OPS:
        raise ManifestError(f"image {partition}: {entry.op_count} block operations; at most {MAX_OPS} are allowed")
    return entry


def _version(value: dict) -> int:
    version = value["version"]
    if version != BLOCK_VERSION or type(version) is not int:
        raise ManifestError(f"delta version {version!r} is not supported; this TSUF reads patch versions 1 "
                            f"(no version field) and {BLOCK_VERSION}", "Update TSUF to read this package.")
    return version


def _window(value, partition: str, source_size: int) -> DeltaWindow:
    what = f"image {partition} window"
    fields_of(value, _WINDOW_FIELDS, what)
    target_size = integer(value, "target_size", 1, MAX_WINDOW_TARGET)
    window = DeltaWindow(
        source_offset=integer(value, "source_offset", 0, MAX_IMAGE_SIZE),
        source_size=integer(value, "source_size", 0, MAX_WINDOW_SOURCE),
        source_sha256=sha256(value, "source_sha256", what),
        target_offset=integer(value, "target_offset", 0, MAX_IMAGE_SIZE),
        target_size=target_size, target_sha256=sha256(value, "target_sha256", what),
        patch_size=integer(value, "patch_size", PATCH_HEADER_SIZE, max_patch_size(target_size)),
        patch_sha256=sha256(value, "patch_sha256", what))
    if window.source_offset + window.source_size > source_size:
        raise ManifestError(f"image {partition}: a window reads past the end of the {source_size}-byte source")
    return window


_BLOCK_WINDOW_FIELDS = {"target_offset", "target_size", "target_sha256", "source_sha256", "ops", "reference",
                        "patch_size", "patch_sha256"}


def _block_window(value, partition: str, source_size: int) -> BlockWindow:
    what = f"image {partition} window"
    fields_of(value, _BLOCK_WINDOW_FIELDS, what)
    target_size = integer(value, "target_size", 1, MAX_WINDOW_TARGET)
    ops = tuple(_op(item, what, target_size, source_size)
                for item in bounded_list(value, "ops", 1, MAX_WINDOW_OPS))
    if sum(op.length for op in ops) != target_size:
        raise ManifestError(f"{what}: its operations make {sum(op.length for op in ops)} bytes, "
                            f"not its target_size {target_size}")
    reference = _reference(value, what, source_size)
    diff_size = sum(op.length for op in ops if op.kind == "diff")
    # No patch without diff ops, and no reference either: nothing would read them.
    low, high = (PATCH_HEADER_SIZE, max_patch_size(diff_size)) if diff_size else (0, 0)
    window = BlockWindow(
        target_offset=integer(value, "target_offset", 0, MAX_IMAGE_SIZE), target_size=target_size,
        target_sha256=sha256(value, "target_sha256", what), source_sha256=sha256(value, "source_sha256", what),
        ops=ops, reference=reference, patch_size=integer(value, "patch_size", low, high),
        patch_sha256=sha256(value, "patch_sha256", what))
    if reference and not diff_size:
        raise ManifestError(f"{what}: a reference without diff operations")
    return window


def _op(value, what: str, target_size: int, source_size: int) -> BlockOp:
    if not isinstance(value, list) or not value or value[0] not in OP_KINDS:
        raise ManifestError(f"{what}: an operation must be a list starting with one of {OP_KINDS}")
    kind = value[0]
    arity = {"copy": 3, "fill": 3, "diff": 2}[kind]
    if len(value) != arity:
        raise ManifestError(f"{what}: a {kind} operation has {arity - 1} values, not {len(value) - 1}")
    length_at = 2 if kind == "copy" else 1
    length = value[length_at]
    if type(length) is not int or not 1 <= length <= target_size:
        raise ManifestError(f"{what}: a {kind} operation's length must be 1 to {target_size}, not {length!r}")
    if kind == "copy":
        offset = value[1]
        if type(offset) is not int or offset < 0:
            raise ManifestError(f"{what}: a copy operation's offset must be an integer of at least 0, not {offset!r}")
        if offset + length > source_size:
            raise ManifestError(f"{what}: a copy operation reads past the end of the {source_size}-byte source "
                                f"(offset {offset!r}, length {length})")
        return BlockOp(kind, length, source_offset=offset)
    if kind == "fill":
        pattern = value[2]
        if not isinstance(pattern, str) or not re.fullmatch(r"[0-9a-f]{%d}" % (2 * FILL_PATTERN_SIZE), pattern):
            raise ManifestError(f"{what}: a fill pattern is {FILL_PATTERN_SIZE} bytes in lower-case hex")
        return BlockOp(kind, length, pattern=bytes.fromhex(pattern))
    return BlockOp(kind, length)


def _reference(value: dict, what: str, source_size: int) -> tuple[tuple[int, int], ...]:
    """Extents in source order, none overlapping another, all inside the source."""
    extents, end, total = [], 0, 0
    for item in bounded_list(value, "reference", 0, MAX_REFERENCE_EXTENTS):
        if (not isinstance(item, list) or len(item) != 2 or any(type(n) is not int for n in item)
                or item[0] < 0 or item[1] < 1):
            raise ManifestError(f"{what}: a reference extent is [offset, length] with length at least 1")
        offset, length = item
        if offset < end:
            raise ManifestError(f"{what}: reference extents overlap or are out of order")
        if offset + length > source_size:
            raise ManifestError(f"{what}: a reference extent reads past the end of the {source_size}-byte source")
        end, total = offset + length, total + length
        extents.append((offset, length))
    if total > MAX_WINDOW_SOURCE:
        raise ManifestError(f"{what}: its reference holds {total} bytes; at most {MAX_WINDOW_SOURCE} are allowed")
    return tuple(extents)
