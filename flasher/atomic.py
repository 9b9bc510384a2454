"""Replacing a small file so that a crash at any moment leaves the old or the new content."""

import os
import threading
from pathlib import Path

# Writers of the same file share its temp name; saves are tiny, so one lock for all costs nothing.
_LOCK = threading.Lock()


def write_atomically(path: Path, data: bytes) -> None:
    """Write a temp file in the same folder, fsync it, rename it over `path` (atomic on
    POSIX and NTFS), then fsync the folder so the rename survives a power cut."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    with _LOCK:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:  # Windows: folders cannot be opened; NTFS journals the rename.
        return
    fd = os.open(folder, os.O_RDONLY | flag)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself is atomic
    finally:
        os.close(fd)
