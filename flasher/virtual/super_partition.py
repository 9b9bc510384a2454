"""The virtual phone's `super` partition: one file holding LP metadata and, inside it,
every logical partition as extents (system_a, vendor_b...), as on a real phone.

fastbootd reads the metadata of the slot it runs, and writes every change to all
metadata slots, primary and backup (as liblp's UpdateAllPartitionMetadata does).
A logical partition is written through its extents; nothing else of super changes.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from ..lp import image, layout
from ..lp.format import SECTOR, TARGET_LINEAR, Metadata
from .storage import PartitionStorage

SUPER = "super"


class SuperPartition:
    def __init__(self, storage: PartitionStorage, stem: str = SUPER):
        self.storage = storage
        self.stem = stem

    @property
    def size(self) -> int:
        return self.storage.size(self.stem)

    def metadata(self, slot_number: int = 0) -> Metadata | None:
        """The metadata fastbootd running on `slot_number` sees; None when super holds none."""
        try:
            with open(self.storage.path(self.stem), "rb") as f:
                geometry = image.read_geometry(f)
                return image.read_super(f, min(slot_number, geometry.metadata_slot_count - 1))
        except image.MetadataInvalid:
            return None

    def write_all_slots(self, metadata: Metadata) -> None:
        with self.storage.open_for_write(self.stem) as f:
            image.write_super(f, metadata)
            self.storage.fsync_file(f)

    def logical_size(self, name: str, slot_number: int = 0) -> int | None:
        metadata = self.metadata(slot_number)
        partition = metadata.partition(name) if metadata else None
        return None if partition is None else partition.size

    def open_logical(self, name: str, slot_number: int = 0) -> LogicalWindow:
        """A file-like view of logical partition `name`: writes land in its extents."""
        metadata = self.metadata(slot_number)
        partition = metadata.partition(name) if metadata else None
        if partition is None:
            raise KeyError(name)
        ranges = [(e.target_data * SECTOR, e.size) if e.target_type == TARGET_LINEAR else (None, e.size)
                  for e in partition.extents]
        return LogicalWindow(self.storage.open_for_write(self.stem), ranges)

    def read_logical(self, name: str, slot_number: int = 0) -> bytes:
        """A logical partition's whole content (for tests and demos: it is read into memory)."""
        with self.open_logical(name, slot_number) as window:
            return window.read_all()

    def erase_logical(self, name: str, slot_number: int = 0) -> None:
        with self.open_logical(name, slot_number) as window:
            window.zero()


class LogicalWindow(io.RawIOBase):
    """Offsets 0..size of a logical partition mapped onto its extents in super.
    A `zero` extent reads as zeros and drops what is written to it, like dm-zero."""

    def __init__(self, super_file: BinaryIO, ranges: list[tuple[int | None, int]]):
        super().__init__()
        self._file = super_file
        self._ranges = ranges
        self._size = sum(length for _, length in ranges)
        self._position = 0

    @property
    def size(self) -> int:
        return self._size

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def _pieces(self, length: int):
        """(super offset or None, length) pieces covering `length` bytes from the position."""
        if self._position + length > self._size:
            raise OSError(f"{length} bytes at {self._position} run past the logical partition ({self._size})")
        start, left = self._position, length
        for base, extent_length in self._ranges:
            if left == 0:
                break
            if start >= extent_length:
                start -= extent_length
                continue
            take = min(extent_length - start, left)
            yield (None if base is None else base + start), take
            left -= take
            start = 0

    def write(self, data) -> int:
        data = bytes(data)
        done = 0
        for offset, length in self._pieces(len(data)):
            if offset is not None:
                self._file.seek(offset)
                self._file.write(data[done : done + length])
            done += length
        self._position += done
        return done

    def read_all(self) -> bytes:
        return b"".join(self.pieces(self._size))

    def pieces(self, length: int, most: int = 1 << 20):
        """The first `length` bytes, in pieces of at most `most` (zero extents read as zeros)."""
        self._position = 0
        for offset, extent_length in self._pieces(length):
            for start in range(0, extent_length, most):
                take = min(most, extent_length - start)
                if offset is None:
                    yield bytes(take)
                else:
                    self._file.seek(offset + start)
                    yield self._file.read(take)

    def zero(self) -> None:
        self._position = 0
        piece = bytes(1 << 20)
        for offset, length in self._pieces(self._size):
            if offset is None:
                continue
            self._file.seek(offset)
            while length:
                self._file.write(piece[: min(length, len(piece))])
                length -= min(length, len(piece))

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        if self.closed:
            return
        super().close()  # flushes through to the super file first
        self._file.close()


def factory_layout(super_size: int, group: str, sizes: dict[str, int], slots: tuple[str, ...]) -> Metadata:
    """A phone as it leaves the factory: each logical partition of each slot at its size,
    in group `group`_SLOT whose maximum is the slot's share of super."""
    usable = super_size - (1 << 20)  # the metadata's aligned first megabyte
    share = usable // len(slots) // 4096 * 4096
    metadata = layout.new_layout(SUPER, super_size, {f"{group}_{slot}": share for slot in slots},
                                 {f"{name}_{slot}": f"{group}_{slot}" for slot in slots for name in sizes})
    for slot in slots:
        for name, size in sizes.items():
            metadata = layout.resize(metadata, f"{name}_{slot}", size)
    return metadata
