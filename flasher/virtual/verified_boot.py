"""Verified boot for the virtual handset, as AVB does it on a real one.

A slot boots only when its vbmeta partition holds boot metadata signed by the
profile's OEM key, every image it lists matches its hash, and its rollback
index is not below the one the handset stored. The stored index rises only
once a slot has booted and been marked successful. With no OEM key in the
profile, verification is off (an unlocked development handset).
"""

import hashlib
import json
from dataclasses import dataclass

from ..atomic import write_atomically
from ..package import bootmeta, keys
from ..package.errors import BootMetadataError
from .storage import PartitionStorage, StorageError

HASH_PIECE = 1 << 20


@dataclass(frozen=True)
class SlotCheck:
    ok: bool
    reason: str = ""
    rollback_index: int = 0
    build: str = ""


class VerifiedBoot:
    def __init__(self, storage: PartitionStorage, oem_public_key_pem: str):
        self.storage = storage
        self.key = keys.load_public_key(oem_public_key_pem.encode(), "OEM key") if oem_public_key_pem else None
        self._state_path = storage.root / "rollback.json"
        self.super = None
        """A phone's super partition (super_partition.SuperPartition): logical images are read there."""

    @property
    def enabled(self) -> bool:
        return self.key is not None

    @property
    def stored_rollback_index(self) -> int:
        try:
            return int(json.loads(self._state_path.read_text())["rollback_index"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def check_slot(self, slot: str) -> SlotCheck:
        """`slot` is "a" or "b", or "" on a handset without slots."""
        if self.key is None:
            return SlotCheck(True)
        suffix, label = (f"_{slot}", f"slot {slot}") if slot else ("", "system")
        stem = f"vbmeta{suffix}"
        data = b"".join(self.storage.read(stem, 0, min(self.storage.size(stem), bootmeta.MAX_SIZE)))
        try:
            metadata = bootmeta.parse_and_verify_boot_metadata(data, self.key)
        except BootMetadataError as exc:
            return SlotCheck(False, f"{label}: {exc}")
        for image in metadata.images:
            target = f"{image.partition}{suffix}"
            if self._sha256(target, image.size, slot_number=1 if slot == "b" else 0) != image.sha256:
                return SlotCheck(False, f"{label}: {target} does not match its boot metadata")
        if metadata.rollback_index < self.stored_rollback_index:
            return SlotCheck(False, f"{label}: rollback index {metadata.rollback_index} is below "
                                    f"the stored {self.stored_rollback_index}")
        return SlotCheck(True, rollback_index=metadata.rollback_index, build=metadata.build)

    def commit_rollback_index(self, index: int) -> None:
        """Called once a slot has booted successfully: the index only ever rises."""
        if index > self.stored_rollback_index:
            write_atomically(self._state_path, json.dumps({"rollback_index": index}).encode())

    def _sha256(self, stem: str, size: int, slot_number: int) -> str | None:
        digest = hashlib.sha256()
        try:
            for piece in self._read(stem, size, slot_number):
                digest.update(piece)
        except (StorageError, OSError):  # a listed partition missing or too small: the slot does not match
            return None
        return digest.hexdigest()

    def _read(self, stem: str, size: int, slot_number: int):
        """A partition's first `size` bytes: from super's extents when it is logical there, as
        first-stage init maps it with the metadata of the slot it boots."""
        if self.super is not None and self.super.logical_size(stem, slot_number) is not None:
            with self.super.open_logical(stem, slot_number) as window:
                yield from window.pieces(size, HASH_PIECE)
        else:
            yield from self.storage.read(stem, 0, size, HASH_PIECE)
