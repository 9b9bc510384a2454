"""Where the CLI sends the core's log records."""

import logging
import sys


def configure(*, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger("tsuf")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
