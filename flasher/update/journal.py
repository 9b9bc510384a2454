"""What an interrupted update had already done, so running it again resumes.

One small JSON file per (handset, package), replaced atomically, named by the handset's
serial number made safe for a file name (the serial inside is the one checked). It records
the slot being written and the images already written AND verified there;
nothing else is trusted on resume.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import write_atomically
from ..device_text import file_key


@dataclass
class JournalEntry:
    device_serial: str
    package_sha256: str
    active_slot: str
    target_slot: str
    verified: list[str] = field(default_factory=list)
    switched: bool = False
    backups: dict[str, str] = field(default_factory=dict)
    """Handsets without slots: partition -> SHA-256 of what it held before the update."""


class Journal:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, device_serial: str, package_sha256: str) -> Path:
        return self.folder / f"{file_key(device_serial)}-{package_sha256[:16]}.json"

    def load(self, device_serial: str, package_sha256: str) -> JournalEntry | None:
        path = self._path(device_serial, package_sha256)
        try:
            entry = JournalEntry(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None  # no journal, or one we cannot trust: start over
        if entry.package_sha256 != package_sha256 or entry.device_serial != device_serial:
            return None
        return entry

    def save(self, entry: JournalEntry) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self._path(entry.device_serial, entry.package_sha256), json.dumps(asdict(entry)).encode())

    def backup_path(self, entry: JournalEntry, partition: str) -> Path:
        """Where a partition's contents are kept until the update is confirmed."""
        return (self.folder / "backups" / f"{file_key(entry.device_serial)}-{entry.package_sha256[:16]}"
                / f"{partition}.img")

    def forget(self, device_serial: str) -> None:
        """Drop every entry of a handset, with its backups: once it is updated another way (a
        sideload), nothing they say about its slots and partitions holds."""
        for path in self.folder.glob("*.json") if self.folder.is_dir() else ():
            try:
                entry = JournalEntry(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            if entry.device_serial == device_serial:
                self.clear(device_serial, entry.package_sha256)

    def clear(self, device_serial: str, package_sha256: str) -> None:
        path = self._path(device_serial, package_sha256)
        entry = self.load(device_serial, package_sha256)
        if entry and entry.backups:
            for partition in entry.backups:
                self.backup_path(entry, partition).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
