"""A vendor OTA zip (payload.bin) as the images of an update, for `tsuf update OTA.zip`.

Opened only once everything update_engine would check has verified: the properties'
sizes and hashes and both signatures, by an OEM certificate in the trust store (or the
zip's own otacert, on the user's word). The session's manifest comes from the OTA's
metadata (`pre-device` the product, `post-build` the build confirmed after the reboot)
and the payload's partitions, each with the size and SHA-256 of its new_partition_info,
so what is written is read back against the payload's own hashes. `prepare` builds the
images into a private folder, each operation checked as it is applied; the rollback
index is then what the payload's vbmeta image states, if it has one.

An incremental OTA is a delta: each partition is built per source (update/images.py
`DeltaImages`, with `rebuild` here) from the running build's image, taken from the
firmware cache by its old_partition_info hash or read back from the handset and
checked against that hash before anything is written. An OTA whose partitions live
inside `super` (dynamic partition metadata) is refused by name before any handset is
touched.
"""

from __future__ import annotations

import stat
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..package.delta_manifest import DeltaEntry
from ..package.manifest import PARTITION_NAME, ImageEntry, Manifest, utc_timestamp
from ..package.stated_build import MAX_VBMETA, stated_build
from ..package.trust import TrustStore
from .container import is_ota_zip
from .errors import PayloadError
from .extract import extract
from .header import MAGIC
from .ota_metadata import OtaMetadata, read_metadata
from .reader import read_payload
from .verify import verify_payload

VBMETA = "vbmeta"
OTA_SOURCE = "ota"
"""An image an incremental OTA makes from the source build's (DeltaEntry.method)."""


class OtaNotSupported(PayloadError):
    hint = ("TSUF cannot write this OTA to a handset; extract its images with `tsuf payload extract` to look at "
            "them, or use the manufacturer's own tool.")


def is_ota(path: Path) -> bool:
    """An OTA zip (payload.bin inside) or a bare payload.bin."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with open(path, "rb") as file:
            if file.read(4) == MAGIC:
                return True
    except OSError:
        return False
    return is_ota_zip(path)


def _source_of(partition, source_build: str) -> DeltaEntry:
    """How the session gets an incremental OTA's partition: from the source build's image
    (old_partition_info), or whole where the payload replaces it."""
    old = partition.old_info
    if not partition.incremental or old is None or not old.sha256:
        return DeltaEntry("whole", source_build)
    return DeltaEntry(OTA_SOURCE, source_build, old.size, old.sha256.hex())


class OtaImages:
    def __init__(self, path: Path, trust_store: TrustStore, *, use_otacert: bool = False):
        self.path = Path(path)
        self.payload = read_payload(self.path)
        self.verification = verify_payload(self.payload, trust_store, use_otacert=use_otacert)
        self.verification.require()
        self.package_sha256 = self.verification.hashes.file_sha256.hex()
        self.left_out: dict[str, str] = {}
        self._manifest = self._read(read_metadata(self.payload.file))

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def signer(self) -> str:
        return self.verification.signature.detail

    def _read(self, metadata: OtaMetadata) -> Manifest:
        product, build = metadata.product, metadata.build
        incremental = not self.payload.manifest.full
        entries = []
        for partition in self.payload.manifest.partitions:
            if not PARTITION_NAME.match(partition.name):
                raise OtaNotSupported(f"the payload's partition {partition.name[:40]!r} is not a partition name")
            entries.append(ImageEntry(partition.name, True, partition.new_info.size, partition.new_info.sha256.hex(),
                                      delta=_source_of(partition, metadata.source_build) if incremental else None))
        return Manifest(package_id=f"ota-{product}-{build or self.package_sha256[:12]}"[:64], product=product,
                        hw_revisions=(), build=build[:128], rollback_index=None, min_battery_mv=0,
                        created=utc_timestamp(), images=tuple(entries), type="delta" if incremental else "full",
                        signer=self.signer, super_groups=self.payload.manifest.groups or ())

    def rebuild(self, _reader, partition: str, source: Path | None, folder: Path) -> Path:
        """One partition of an incremental OTA built in a new private folder, from `source` (the
        running build's image, already checked against old_partition_info) where it needs one."""
        out = Path(tempfile.mkdtemp(prefix=f"tsuf-{partition}-", dir=folder))
        sources = None
        if source is not None:
            sources = out / "source"
            sources.mkdir()
            (sources / f"{partition}.img").symlink_to(source)
        return extract(self.payload, [partition], out, source_dir=sources)[0]

    def image_builder(self, dest_dir: Path) -> tuple[list[str], Callable[[str], Path]]:
        """The order a full OTA's images are built in (the order sessions write them) and what
        builds one, into its own private folder, checked against the payload's hashes. vbmeta
        is built at once, so its rollback index is known before any preflight."""
        order = sorted((entry.partition for entry in self._manifest.images),
                       key=lambda name: (name != VBMETA, any(name in group.partitions
                                                             for group in self._manifest.super_groups)))
        built: dict[str, Path] = {}
        if VBMETA in order:
            built[VBMETA] = self._build(VBMETA, dest_dir)
            with open(built[VBMETA], "rb") as vbmeta:
                stated = stated_build(vbmeta.read(MAX_VBMETA))
            if stated.rollback_index is not None:
                self._manifest = replace(self._manifest, rollback_index=stated.rollback_index)
        return order, lambda name: built.get(name) or self._build(name, dest_dir)

    def _build(self, partition: str, dest_dir: Path) -> Path:
        return extract(self.payload, [partition], Path(tempfile.mkdtemp(prefix="tsuf-ota-", dir=dest_dir)))[0]

    def close(self) -> None:
        """Nothing stays open: the payload's file is opened for each read."""
