"""`tsuf`: the command line on the same core as the desktop app.

Only argparse is imported up front; each command imports what it needs, so
`tsuf --version` starts fast and no command ever pulls in Qt. The options of
every command are in parser.py.
"""

import argparse
import importlib
import os
import sys

from .command_name import named_command as _named_command
from .parser import build_parser

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_HANDLERS = {
    "emulator": ("emulator_command", "run_emulator"),
    "demo": ("demo_command", "run_demo"),
    "keys": ("keys_command", "run_keys_command"),
    "package": ("package_command", "run_package_command"),
    "devices": ("discovery_commands", "run_devices"),
    "doctor": ("discovery_commands", "run_doctor"),
    "update": ("update_command", "run_update"),
    "ddi": ("ddi_command", "run_ddi"),
    "history": ("history_command", "run_history"),
    "settings": ("settings_command", "run_settings"),
    "gui": ("gui_command", "run_gui"),
    "cache": ("cache_command", "run_cache_command"),
    "catalog": ("catalog_command", "run_catalog_command"),
    "library": ("library_command", "run_library_command"),
    "payload": ("payload_command", "run_payload_command"),
    "server": ("server_command", "run_server_command"),
    **{verb: ("bootloader_commands", "run_bootloader_command")
       for verb in ("oem", "flashing", "boot", "continue", "wipe", "format", "flashall")},
}


_VERBS = {"getvar", "flash", "erase", "set-active", "reboot", "fetch", *_HANDLERS}


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    """Run one command line; `parser` is the whole parser when one is already built (the resident tsuf)."""
    argv = _wipe_alone(sys.argv[1:] if argv is None else argv)
    args = (parser or build_parser(_named_command(argv))).parse_args(argv)
    if not args.address and os.environ.get("TSUF_DEVICE"):
        args.address = [os.environ["TSUF_DEVICE"]]
    from ..errors import FlasherError
    from . import logs
    logs.configure(verbose=args.verbose)
    module, function = _HANDLERS.get(args.command, ("device_commands", "run_device_command"))
    try:
        handler = getattr(importlib.import_module(f"{__package__}.{module}"), function)
        return handler(args)
    except FlasherError as error:
        return _report(str(error), error.hint)
    except BrokenPipeError:
        # The reader left (`tsuf history --csv | head`): stop quietly, and keep Python's own
        # flush at exit from failing again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _report("the output was closed before everything was written",
                       "Expected when piping into head; run without the pipe to see it all.")
    except OSError as error:
        # A file a command was pointed at that is not what it should be; commands name their
        # own errors where they can, this keeps the rest from ending in a traceback.
        where = f"{error.filename}: " if error.filename else ""
        return _report(f"{where}{error.strerror or error}", "Check the path given: the right file or folder, "
                                                             "readable (or writable) by you.")
    except KeyboardInterrupt:
        print("tsuf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _wipe_alone(argv: list[str]) -> list[str]:
    """`tsuf -w` is `tsuf wipe`, as `fastboot -w` is; `tsuf -w flashall` is `tsuf flashall -w`."""
    if "-w" not in argv:
        return argv
    at = argv.index("-w")
    verb = next((index for index, word in enumerate(argv) if word in _VERBS), None)
    if verb is not None and verb < at:
        return argv  # the verb's own -w
    rest = argv[:at] + argv[at + 1:]
    if verb is None:
        return rest + ["wipe"]
    return rest[:verb] + ["-w"] + rest[verb:]


def _report(message: str, hint: str) -> int:
    from ..device_text import printable  # a message may quote a device's FAIL or a hostile file name
    print(f"tsuf: error: {printable(message, None)}", file=sys.stderr)
    if hint:
        print(f"tsuf: {printable(hint, None)}", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
