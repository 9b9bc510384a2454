"""Replacing a small file so that a crash at any moment leaves the old or the new content,
and making the owner-only folders and files a station keeps its things in."""

import os
import stat
import threading
from pathlib import Path

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
"""Modes for what a station keeps: serial numbers, logs, history and tokens are no other local user's business."""

# Writers of the same file share its temp name; saves are tiny, so one lock for all costs nothing.
_LOCK = threading.Lock()


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write a temp file in the same folder, fsync it, rename it over `path` (atomic on
    POSIX and NTFS), then fsync the folder so the rename survives a power cut. The file has
    `mode` from its first byte on (PRIVATE_FILE for a station's own files)."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    with _LOCK:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), mode)
        try:
            _narrow(fd, mode)  # a temp file left by an older TSUF keeps its mode through O_TRUNC
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


def private_folder(folder: Path) -> Path:
    """Make `folder`, and any missing folder above it, owner-only (mkdir's mode is not widened
    by the umask); tighten it if it exists with more open permissions (older TSUF made 0755)."""
    folder = Path(folder)
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for level in reversed(missing):
        try:
            level.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            pass  # another process made it at the same moment
    folder = missing[0] if missing else folder
    make_private(folder)
    return folder


def open_private(path: Path, flags: int) -> int:
    """os.open for a station's own file: created owner-only, and tightened if it existed more open."""
    fd = os.open(path, flags | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    _narrow(fd, PRIVATE_FILE)
    return fd


def make_private(path: Path) -> None:
    """Take group and other permissions off an existing file or folder (POSIX; Windows keeps its ACLs)."""
    if os.name != "posix":
        return
    current = stat.S_IMODE(os.stat(path).st_mode)
    if current & 0o077:
        os.chmod(path, current & 0o700)


def _narrow(fd: int, mode: int) -> None:
    if os.name == "posix" and stat.S_IMODE(os.fstat(fd).st_mode) & ~mode:
        os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & mode)
