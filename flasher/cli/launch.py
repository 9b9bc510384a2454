"""`tsuf` as installed: the resident tsuf runs the command when one is up, else this process does."""

import sys

from . import resident


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    code = resident.run(argv)
    if code is not None:
        return code
    from .main import main as run_here
    return run_here(argv)


if __name__ == "__main__":
    sys.exit(main())
