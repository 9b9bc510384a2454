"""Whether tsuf's code on disk changed since the resident server imported it.

The server asks before every command, so that it never runs edited or upgraded code as
the old. On Linux the kernel tells it as files change (inotify), and the question costs a
read; elsewhere, or when the system has no watch left to give, the answer is the sizes and
times of every source file compared again (resident.code_fingerprint), a few milliseconds.
"""

import ctypes
import os
import struct
import sys

from . import resident

# inotify(7)
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_Q_OVERFLOW, _IN_IGNORED, _IN_ISDIR = 0x4000, 0x8000, 0x40000000
_WATCHED = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
            | _IN_DELETE_SELF | _IN_MOVE_SELF)
_FOLDER_GONE = _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_Q_OVERFLOW | _IN_IGNORED
_EVENT = struct.Struct("iIII")


class CodeWatch:
    """The package folder's source files, and the interpreter, as the server imported them."""

    def __init__(self, folder: str | None = None, *, use_inotify: bool = True):
        self.folder = folder or resident.package_folder()
        self._fd = _watch(self.folder) if use_inotify and sys.platform.startswith("linux") else None
        self.fingerprint = resident.code_fingerprint(self.folder)
        self._interpreter = _interpreter_stamp()
        self._changed = False

    @property
    def notified(self) -> bool:
        """The kernel reports changes (no walk per command)."""
        return self._fd is not None

    def changed(self) -> bool:
        if self._fd is None:
            return resident.code_fingerprint(self.folder) != self.fingerprint
        if not self._changed:
            self._changed = _source_event(self._fd) or _interpreter_stamp() != self._interpreter
        return self._changed

    def fileno(self) -> int | None:
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _interpreter_stamp() -> tuple[int, int] | None:
    try:
        status = os.stat(sys.executable)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def _watch(folder: str) -> int | None:
    """An inotify descriptor watching `folder` and every folder in it; None where that cannot be."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    for path, _ in resident.source_tree(folder):
        if libc.inotify_add_watch(fd, os.fsencode(path), _WATCHED) < 0:  # out of watches (max_user_watches)
            os.close(fd)
            return None
    return fd


def _source_event(fd: int) -> bool:
    """Whether anything queued on `fd` touches source: a .py file, a new or removed folder,
    a watched folder itself, or more events than the kernel kept."""
    touched = False
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return touched
        offset = 0
        while offset + _EVENT.size <= len(data):
            _, mask, _, length = _EVENT.unpack_from(data, offset)
            name = data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0")
            offset += _EVENT.size + length
            if mask & _FOLDER_GONE or name.endswith(b".py") or (mask & _IN_ISDIR and name != b"__pycache__"):
                touched = True
