"""Where a partition read back from a handset goes, so a failed read never costs the user a file."""

import os
import stat
from pathlib import Path

from ..errors import FlasherError


class OutputNotWritable(FlasherError):
    hint = "Give a file name in a folder you can write to, or a disk device (/dev/sdX) to write in place."


class OutputFile:
    """A regular file (new or existing) is written as a temporary file beside it, renamed over it
    only by `commit`: until then what was there stays untouched. A device node (a disk, /dev/null)
    is written in place and never removed. Folders, pipes and sockets are refused."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._temporary: Path | None = None
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            found = None
        except OSError as error:
            raise OutputNotWritable(f"{self.path}: {error.strerror}") from None
        if found and (stat.S_ISBLK(found.st_mode) or stat.S_ISCHR(found.st_mode)):
            self.file = self._open(self.path, os.O_WRONLY, f"cannot write {self.path}")
        elif found is None or stat.S_ISREG(found.st_mode):
            self._target = self.path.resolve()  # through a symlink: replace the file it names, not the link
            self._temporary = self._target.with_name(f".{self._target.name}.{os.urandom(4).hex()}.partial")
            self.file = self._open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                   f"cannot write {self.path}: no new file can be made in {self._target.parent}")
            if found:
                os.chmod(self._temporary, stat.S_IMODE(found.st_mode))
        elif stat.S_ISDIR(found.st_mode):
            raise OutputNotWritable(f"{self.path} is a folder", f"Name a file in it, e.g. {self.path / 'boot.img'}")
        else:
            raise OutputNotWritable(f"{self.path} is neither a file nor a device (a pipe or a socket)")

    def _open(self, path: Path, flags: int, refusal: str):
        try:
            fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o666)
        except OSError as error:
            raise OutputNotWritable(f"{refusal} ({error.strerror})") from None
        return os.fdopen(fd, "wb")

    def commit(self) -> None:
        """The written content becomes the file's: flushed to disk, then renamed into place."""
        self.file.flush()
        try:
            os.fsync(self.file.fileno())
        except OSError:
            pass  # character devices such as /dev/null cannot be synced; there is nothing to keep
        self.file.close()
        if self._temporary:
            os.replace(self._temporary, self._target)
            self._temporary = None

    def __enter__(self) -> "OutputFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.file.close()
        if self._temporary:  # not committed: only the temporary file goes
            self._temporary.unlink(missing_ok=True)
