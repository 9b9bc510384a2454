"""What the virtual handset's recovery does with a sideloaded package: keep it, check it, install it.

Recovery asks the host for the package block by block: first the block(s) holding
the last 22 bytes, so a file without a zip's end record is refused at once, then
the rest in order. It keeps the package in `<root>/sideload/package.zip` (recovery's
FUSE file /sideload/package.zip), so each block travels once. Then, needing
nothing more from the host:

1. `PackageReader` reads it with a trust store holding only the handset's OEM
   key: a package signed by any other key, or changed after signing, is refused;
2. it must say `install: sideload` and be a full package for this product and
   hardware revision, with a rollback index not below the stored one, as the
   bootloader checks;
3. on an A/B handset every slotted image goes to the inactive slot and is read
   back, and only then does that slot become active; single-copy partitions, and
   every partition of a handset without slots, are written in place after a
   backup of what the image covers, which is written back if anything fails.

`<root>/sideload` is emptied before and after every attempt, so an attempt cut
short leaves nothing the next one sees.
"""

import hashlib
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..errors import FlasherError
from ..package.archive import PackageReader
from ..package.errors import PackageError
from ..package.manifest import MAX_MANIFEST_BYTES, Manifest
from ..package.trust import TrustStore
from . import slots
from .imaging import write_image
from .profile import DeviceProfile, UnknownPartition

EOCD = b"PK\x05\x06"
EOCD_SIZE = 22
BLOCK = 4096
PIECE = 1 << 20
ZIP_OVERHEAD = 1 << 20

Fetch = Callable[[int], bytes]
"""Block number -> that block of the package, exactly (the last one may be short)."""


class InstallFailed(FlasherError):
    """Why recovery did not install the package; the host sees FAILFAIL."""


class _Write(NamedTuple):
    partition: str
    stem: str
    size: int
    sha256: str
    in_place: bool
    """A single-copy partition (or a handset without slots): backed up first."""


def max_package_size(profile: DeviceProfile) -> int:
    """No package for this handset is larger: one image per partition, its manifest and the zip's records."""
    return sum(partition.size for partition in profile.partitions) + MAX_MANIFEST_BYTES + ZIP_OVERHEAD


class SideloadInstall:
    def __init__(self, handset):
        self.handset = handset
        self.folder = handset.root / "sideload"

    def run(self, size: int, block_size: int, fetch: Fetch) -> Manifest:
        """Receive, check and install; returns the installed manifest or raises InstallFailed.
        Whatever `fetch` raises (the host left) goes on up with nothing installed."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(mode=0o700)
        try:
            package = self._receive(size, block_size, fetch)
            return self._install(package)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _receive(self, size: int, block_size: int, fetch: Fetch) -> Path:
        limit = max_package_size(self.handset.profile)
        if size > limit:
            raise InstallFailed(f"a package of {size} bytes cannot be for this handset (at most {limit})")
        count = math.ceil(size / block_size)
        tail = sorted({max(size - EOCD_SIZE, 0) // block_size, count - 1})
        path = self.folder / "package.zip"
        with open(path, "wb") as package:
            package.truncate(size)
            end = b"".join(self._store(package, block, block_size, fetch) for block in tail)
            if size < EOCD_SIZE or EOCD not in end:
                raise InstallFailed("not a zip package: its end record is missing")
            for block in range(count):
                if block not in tail:
                    self._store(package, block, block_size, fetch)
        return path

    @staticmethod
    def _store(package, block: int, block_size: int, fetch: Fetch) -> bytes:
        data = fetch(block)
        package.seek(block * block_size)
        package.write(data)
        return data

    def _install(self, path: Path) -> Manifest:
        try:
            with PackageReader(path, self._oem_trust_store()) as reader:
                manifest = reader.manifest
                plan = self._plan(manifest)
                copies = reader.extract_all_verified(self.folder)
        except PackageError as exc:
            raise InstallFailed(f"package refused: {exc}") from None
        self._write(plan, copies)
        return manifest

    def _oem_trust_store(self) -> TrustStore:
        pem = self.handset.profile.oem_public_key
        if not pem:
            raise InstallFailed("this handset has no OEM key to check packages with")
        source = self.folder / "oem.pub.pem"
        source.write_text(pem)
        store = TrustStore(self.folder / "keys")
        store.import_key(source)
        return store

    def _plan(self, manifest: Manifest) -> list[_Write]:
        """What to write where, once the package passed the bootloader's checks."""
        profile = self.handset.profile
        if manifest.install != "sideload":
            raise InstallFailed(f"package {manifest.package_id} is installed with fastboot, not through recovery")
        if manifest.product != profile.product:
            raise InstallFailed(f"package is for {manifest.product}, this handset is {profile.product}")
        if profile.hw_revision not in manifest.hw_revisions:
            raise InstallFailed(f"package is not for hardware revision {profile.hw_revision}")
        stored = self.handset.verified_boot.stored_rollback_index
        if manifest.rollback_index < stored:
            raise InstallFailed(f"rollback index {manifest.rollback_index} is below the stored {stored}")
        ab = profile.slot_count == 2
        target = slots.other_slot(self.handset.meta.active) if ab else ""
        plan = []
        for entry in manifest.images:
            try:
                partition = profile.partition(entry.partition)
            except UnknownPartition:
                raise InstallFailed(f"this handset has no partition {entry.partition}") from None
            if ab and entry.slotted != partition.slotted:
                raise InstallFailed(f"{entry.partition} is {'' if partition.slotted else 'not '}slotted on this "
                                    "handset; the package says otherwise")
            if entry.size > partition.size:
                raise InstallFailed(f"image {entry.partition} is larger than its partition")
            in_place = not (ab and entry.slotted)
            stem = entry.partition if in_place else f"{entry.partition}_{target}"
            plan.append(_Write(entry.partition, stem, entry.size, entry.sha256, in_place))
        return plan

    def _write(self, plan: list[_Write], copies: dict[str, Path]) -> None:
        handset, storage = self.handset, self.handset.storage
        backups: dict[str, Path] = {}
        try:
            for write in plan:
                if write.in_place:
                    backups[write.stem] = self._back_up(write.stem, write.size)
            for write in plan:
                if write.stem in handset.faults.discard_flash:
                    continue  # the storage loses the write; the read-back below catches it
                with open(copies[write.partition], "rb") as image, storage.open_for_write(write.stem) as target:
                    write_image(image, write.size, target, storage.size(write.stem))
                    storage.fsync_file(target)
            for write in plan:
                if self._sha256(write.stem, write.size) != write.sha256:
                    raise InstallFailed(f"{write.stem} reads back different from the package")
        except BaseException:
            for stem, backup in backups.items():
                self._restore(stem, backup)
            raise
        if any(not write.in_place for write in plan):
            target = slots.other_slot(handset.meta.active)
            handset._save(slots.set_active(handset.meta, target, handset.profile.max_retry_count))

    def _back_up(self, stem: str, size: int) -> Path:
        storage = self.handset.storage
        length = min(math.ceil(size / BLOCK) * BLOCK, storage.size(stem))
        backup = self.folder / "backup" / f"{stem}.img"
        backup.parent.mkdir(exist_ok=True)
        with open(backup, "wb") as out:
            for piece in storage.read(stem, 0, length, PIECE):
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())
        return backup

    def _restore(self, stem: str, backup: Path) -> None:
        storage = self.handset.storage
        with open(backup, "rb") as image, storage.open_for_write(stem) as target:
            shutil.copyfileobj(image, target, PIECE)
            storage.fsync_file(target)

    def _sha256(self, stem: str, size: int) -> str:
        digest = hashlib.sha256()
        for piece in self.handset.storage.read(stem, 0, size, PIECE):
            digest.update(piece)
        return digest.hexdigest()
