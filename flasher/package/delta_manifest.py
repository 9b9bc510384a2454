"""The delta part of a manifest: how each target image is made from the source build's image.

A delta entry says which source image it applies to (build, size, SHA-256) and how:
`copy` (unchanged), `whole` (carried complete in images/) or `patch` (BSDIFF40 windows
in patches/<partition>.bsdiff, one after another). Every window bounds what applying it
holds in memory: its source range, its target range and its patch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ManifestError
from .schema import MAX_IMAGE_SIZE, bounded_list, fields_of, identifier, integer, sha256

MiB = 1 << 20
DELTA_METHODS = ("copy", "patch", "whole")
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

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class DeltaEntry:
    method: str
    source_build: str
    source_size: int = 0
    source_sha256: str = ""
    windows: tuple[DeltaWindow, ...] = ()

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
        return data


def parse_delta(value, partition: str, target_size: int, target_sha256: str) -> DeltaEntry:
    """Check one image's delta object against the image it makes."""
    if not isinstance(value, dict) or value.get("method") not in DELTA_METHODS:
        raise ManifestError(f"image {partition}: delta must be an object whose method is one of {DELTA_METHODS}")
    method = value["method"]
    fields_of(value, _DELTA_FIELDS[method], f"image {partition} delta")
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
    windows = tuple(_window(item, partition, source_size) for item in items)
    at = 0
    for window in windows:
        if window.target_offset != at:
            raise ManifestError(f"image {partition}: windows must cover the target in order, without gaps")
        at += window.target_size
    if at != target_size:
        raise ManifestError(f"image {partition}: windows cover {at} bytes of a {target_size}-byte image")
    return DeltaEntry(method, source_build, source_size, source_sha256, windows)


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
