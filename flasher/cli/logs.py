"""Where the CLI sends the core's log records.

The core always logs everything (per-device attempt logs attach their own
handlers); the terminal shows warnings, or everything with --verbose, each record on one
line with control characters escaped (records quote what devices say).
"""

import logging
import sys

from ..device_text import printable


def configure(*, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root = logging.getLogger("tsuf")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


class _PrintableFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message, None)
        return super().formatMessage(record)

    def formatException(self, exc_info) -> str:
        # A traceback keeps its lines; each is escaped, as it may quote a device.
        return "\n".join(printable(line, None) for line in super().formatException(exc_info).split("\n"))
