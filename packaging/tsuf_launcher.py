"""The bundle's one executable: `tsuf` for the command line, `tsuf gui` for the desktop app.

PyInstaller needs a script, and flasher/cli/launch.py uses relative imports, so it cannot be one.
"""

import multiprocessing
import sys

from flasher.cli.launch import main


def arguments(argv: list[str], executable: str) -> list[str]:
    """The command line to run; TSUF.app opened from Finder gets none and means the desktop app."""
    if ".app/Contents/MacOS/" in executable and not [arg for arg in argv if not arg.startswith("-psn_")]:
        return ["gui"]
    return argv


if __name__ == "__main__":
    # Building a delta diffs in spawned worker processes: in the bundle they start this executable.
    multiprocessing.freeze_support()
    sys.exit(main(arguments(sys.argv[1:], sys.executable)))
