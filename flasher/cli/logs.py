"""Where the CLI sends the core's log records.

The core always logs everything (per-device attempt logs attach their own
handlers); the terminal shows warnings, or everything with --verbose.
"""

import logging
import sys


def configure(*, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root = logging.getLogger("tsuf")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
