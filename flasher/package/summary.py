"""What a package is, as its signed manifest says: the one shape the catalog, the library
and selection share (each adds where the package is: a URL, a file, a location to fetch).
A vendor OTA (payload.bin) takes the same shape from its metadata (library/vendor_ota.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .manifest import Manifest

PACKAGE, VENDOR_OTA = "package", "vendor OTA"  # a summary's `kind`
OTA_FULL, OTA_INCREMENTAL = "full", "incremental"  # a vendor OTA's `type`


@dataclass(frozen=True)
class PackageSummary:
    package_id: str
    product: str
    hw_revisions: tuple[str, ...]
    build: str
    rollback_index: int | None  # None: not known before the images are read (a vendor OTA states none)
    type: str  # "full" or "delta"; a vendor OTA's "full" or "incremental"
    source_build: str | None = None  # the build a delta (or incremental OTA) applies to; None for a full package
    install: str = "fastboot"  # or "sideload": a full package recovery installs (the manifest's `install`)
    kind: str = PACKAGE  # or VENDOR_OTA: the manufacturer's zip of payload.bin

    @property
    def applies_to_a_build(self) -> bool:
        """A delta package or an incremental OTA: it installs only over `source_build`."""
        return self.type in ("delta", "incremental")

    @classmethod
    def of(cls, manifest: Manifest) -> PackageSummary:
        return cls(package_id=manifest.package_id, product=manifest.product, hw_revisions=manifest.hw_revisions,
                   build=manifest.build, rollback_index=manifest.rollback_index, type=manifest.type,
                   source_build=manifest.source_build, install=manifest.install)

    def summary_fields(self) -> dict:
        """The summary's own fields, to make another shape of the same package."""
        return {field.name: getattr(self, field.name) for field in fields(PackageSummary)}
