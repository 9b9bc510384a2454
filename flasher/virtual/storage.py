"""The virtual handset's flash: one folder per handset, one file per partition slot.

Layout of a handset's folder (the `root`):

    <root>/
        boot_a.img, boot_b.img, ...   slotted partitions, one file per slot
        misc.img, userdata.img, ...   unslotted partitions
        slots.json                    A/B metadata (see slots.py; replaced atomically)
        download.bin                  the download buffer, spooled to disk

Partition files are sparse: a missing file is created at its full size without
writing a byte, so a fresh 32 GiB userdata costs no disk, and an erase punches the
whole file back to a hole. Spooling downloads to download.bin keeps a process that
serves several handsets small in memory, whatever max-download-size says.

One handset owns a folder. Files from an older profile that the current one does not
name are left alone; a file the profile names but with another size is refused, since
that folder belongs to a different device.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

from flasher.errors import FlasherError

from .profile import DeviceProfile

PIECE = 1 << 20


class StorageError(FlasherError):
    """The handset's partition files cannot be used as asked."""


class PartitionStorage:
    """Partition files of one handset, addressed by stem (`boot_a`, `misc`)."""

    def __init__(self, root: Path | str, profile: DeviceProfile):
        self.root = Path(root)
        self.profile = profile
        self._sizes = dict(profile.storage_files())
        if self.root.exists() and not self.root.is_dir():
            raise StorageError(
                f"handset folder {self.root} is a file",
                hint="Give the handset a folder of its own.",
            )
        self.root.mkdir(parents=True, exist_ok=True)
        for stem, size in self._sizes.items():
            self._prepare(stem, size)

    def path(self, stem: str) -> Path:
        """The file holding partition slot `stem`."""
        self._check_stem(stem)
        return self.root / f"{stem}.img"

    def size(self, stem: str) -> int:
        """Size in bytes of partition slot `stem`."""
        self._check_stem(stem)
        return self._sizes[stem]

    def stems(self) -> tuple[str, ...]:
        """Every stored stem, in profile order."""
        return tuple(self._sizes)

    def download_path(self) -> Path:
        """Where the download buffer is spooled."""
        return self.root / "download.bin"

    def check_range(self, stem: str, offset: int, length: int) -> None:
        """Refuse a read or write of `length` bytes at `offset` that leaves the partition.

        open_for_write() hands out a plain file, which would grow silently; callers
        check here first, so a partition file never changes size.
        """
        size = self.size(stem)
        if offset < 0 or length < 0 or offset + length > size:
            raise StorageError(
                f"{length} bytes at offset {offset} do not fit in {stem} "
                f"({size} bytes)",
                hint=f"Stay within partition-size:{stem} (0x{size:x}).",
            )

    def open_for_write(self, stem: str) -> BinaryIO:
        """The partition file opened r+b; the caller seeks and writes (see check_range)."""
        return open(self.path(stem), "r+b")

    def read(
        self, stem: str, offset: int, length: int, piece: int = PIECE
    ) -> Iterator[bytes]:
        """Yield `length` bytes from `offset`, at most `piece` bytes at a time.

        The range is checked now, not on the first next(), so a bad fetch fails before
        the device answers DATA.
        """
        self.check_range(stem, offset, length)
        if piece <= 0:
            raise ValueError("piece must be positive")
        return self._pieces(self.path(stem), stem, offset, length, piece)

    def erase(self, stem: str) -> None:
        """Make the partition read back as zeros, and give its disk space back."""
        size = self.size(stem)
        with open(self.path(stem), "r+b") as f:
            # Cutting to zero and growing again leaves one hole: zeros that cost nothing.
            f.truncate(0)
            f.truncate(size)
            f.flush()
            os.fsync(f.fileno())

    def fsync(self, stem: str) -> None:
        """Push the partition's writes to disk (as a device does before OKAY)."""
        # r+b, because Windows refuses to flush a file opened read-only.
        with open(self.path(stem), "r+b") as f:
            os.fsync(f.fileno())

    @staticmethod
    def fsync_file(f: BinaryIO) -> None:
        """Push writes made through a file from open_for_write() to disk."""
        f.flush()
        os.fsync(f.fileno())

    def _check_stem(self, stem: str) -> None:
        if stem not in self._sizes:
            raise StorageError(
                f"no partition file {stem!r} on this handset",
                hint="Resolve fastboot names with DeviceProfile.resolve() first.",
            )

    def _prepare(self, stem: str, size: int) -> None:
        path = self.root / f"{stem}.img"
        try:
            st = path.stat()
        except FileNotFoundError:
            # Build it under a temp name, so a crash never leaves a file of the wrong size.
            temp = self.root / f"{stem}.img.new"
            with open(temp, "wb") as f:
                _mark_sparse(f)
                f.truncate(size)
            os.replace(temp, path)
            return
        if not path.is_file():
            raise StorageError(
                f"{path} is not a regular file",
                hint="Remove it, or give the handset another folder.",
            )
        if st.st_size != size:
            raise StorageError(
                f"{path} holds {st.st_size} bytes but the profile gives {stem} {size}",
                hint="This folder belongs to a handset with another profile: use another "
                "folder, or delete this one to start from a blank handset.",
            )

    @staticmethod
    def _pieces(path: Path, stem: str, offset: int, length: int, piece: int) -> Iterator[bytes]:
        with open(path, "rb") as f:
            f.seek(offset)
            left = length
            while left:
                data = f.read(min(piece, left))
                if not data:
                    raise StorageError(
                        f"{stem} ended early: {left} bytes missing at offset "
                        f"{offset + length - left}",
                        hint="Something outside the handset shrank the partition file; "
                        "restart the handset.",
                    )
                left -= len(data)
                yield data


def _mark_sparse(f: BinaryIO) -> None:
    """On Windows a file is only sparse when flagged so; POSIX file systems need nothing."""
    if sys.platform != "win32":
        return
    try:
        import ctypes
        import msvcrt
        from ctypes import wintypes

        fsctl_set_sparse = 0x000900C4
        returned = wintypes.DWORD()
        ctypes.windll.kernel32.DeviceIoControl(
            wintypes.HANDLE(msvcrt.get_osfhandle(f.fileno())),
            fsctl_set_sparse,
            None,
            0,
            None,
            0,
            ctypes.byref(returned),
            None,
        )
    except (OSError, AttributeError):
        pass  # best effort: without the flag the file is just fully allocated
