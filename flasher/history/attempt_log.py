"""The full log of one attempt on one handset, kept as a file beside the history.

Reports carry only its tail and its SHA-256; the file is the evidence. Each record is one
line with its control characters escaped, so a device's text can neither fake a line nor
drive the terminal of whoever reads the file.
"""

import hashlib
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

from ..device_text import printable
from .report import tail_of


class AttemptLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, level: str, message: str) -> None:
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            if not self._file.closed:
                self._file.write(f"{stamp} {level:<7} {printable(message, limit=None)}\n")
                self._file.flush()

    def handler(self) -> logging.Handler:
        """A logging handler that copies records (e.g. the device's INFO lines) here."""
        log = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                log.write(record.levelname, record.getMessage())
        handler = _Handler(level=logging.DEBUG)
        return handler

    def close(self) -> tuple[str, str]:
        """Finish the file; returns (tail, sha256 of the whole file)."""
        with self._lock:
            self._file.close()
        text = self.path.read_text(encoding="utf-8")
        return tail_of(text), hashlib.sha256(text.encode("utf-8")).hexdigest()
