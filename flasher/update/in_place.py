"""Updating a handset without A/B slots: back up, write in place, restore on failure.

There is no second slot to fall back to, so before the first write every
partition that will change is read back (the range the new image covers)
and kept with its hash; the journal records them, so a rerun after an
interruption never backs up a half-written partition. If writing, verifying
or booting the new build fails, the backups are written back and verified.
"""

import os
from collections.abc import Callable

from ..atomic import open_private, private_folder
from ..fastboot import FastbootDevice
from ..errors import FlasherError
from ..history.codes import Result
from ..protocol.errors import CommandFailed
from .journal import Journal, JournalEntry
from .preflight import PreflightRefused
from .readback import read_back_sha256

BLOCK = 4096


class NoBackup(PreflightRefused):
    result = Result.NO_BACKUP
    hint = ("Without a backup a failed update could leave the handset unable to boot. "
            "Use --force-without-backup only if you accept that risk.")


class RestoreFailed(FlasherError):
    hint = ("Do not unplug the handset. Run the same update again: TSUF keeps the backup "
            "and resumes from it.")


def back_up(device: FastbootDevice, sizes: dict[str, int], journal: Journal, entry: JournalEntry,
            say: Callable[[str], None], *, force: bool) -> None:
    """Read back `sizes` (partition -> bytes the new image covers) unless the journal has them."""
    for partition, size in sizes.items():
        if partition in entry.backups:
            continue
        if not device.capabilities.can_read(partition):
            if force:
                say(f"no backup of {partition} (the handset cannot be read back); going on without one as asked")
                continue
            raise NoBackup(f"the handset cannot be read back, so {partition} cannot be backed up before it is "
                           "overwritten")
        whole_blocks = -(-size // BLOCK) * BLOCK
        length = min(whole_blocks, device.capabilities.partition_size(partition) or whole_blocks)
        path = journal.backup_path(entry, partition)
        private_folder(path.parent)
        try:
            with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as out:
                digest = read_back_sha256(device, partition, length, copy_to=out)
                out.flush()
                os.fsync(out.fileno())
        except CommandFailed as exc:
            path.unlink(missing_ok=True)
            if force:
                say(f"no backup of {partition} ({exc.reason}); going on without one as asked")
                continue
            raise NoBackup(f"{partition} cannot be read back for a backup ({exc.reason})") from None
        entry.backups[partition] = digest
        journal.save(entry)
        say(f"backed up {partition} ({length} bytes)")


def restore(device: FastbootDevice, journal: Journal, entry: JournalEntry, say: Callable[[str], None]) -> None:
    """Write every backup back and check it reads back the same."""
    for partition, expected in entry.backups.items():
        path = journal.backup_path(entry, partition)
        say(f"restoring {partition}")
        device.flash(partition, path)
        if read_back_sha256(device, partition, path.stat().st_size) != expected:
            raise RestoreFailed(f"{partition} reads back different from its backup after restoring")
