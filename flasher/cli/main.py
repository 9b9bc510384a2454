"""`tsuf`: the command line on the same core as the desktop app.

Only argparse is imported up front; each command imports what it needs, so
`tsuf --version` starts fast and no command ever pulls in Qt.
"""

import argparse
import os
import sys

from .. import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsuf", description="Flash and update Android handsets over fastboot.")
    parser.add_argument("--version", action="version", version=f"tsuf {__version__}")
    parser.add_argument("-s", dest="address", metavar="ADDRESS", default=os.environ.get("TSUF_DEVICE"),
                        help="device address: tcp:HOST[:PORT], udp:HOST[:PORT] or usb:SERIAL "
                             "(default from $TSUF_DEVICE)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    getvar = commands.add_parser("getvar", help="read a device variable, or all of them")
    getvar.add_argument("name", help="variable name, or 'all'")

    flash = commands.add_parser("flash", help="write an image (raw or sparse) to a partition")
    flash.add_argument("partition")
    flash.add_argument("file")
    flash.add_argument("--slot", choices=("a", "b", "other"),
                       help="slot to write (default: the active slot)")
    flash.add_argument("--no-fill", action="store_true",
                       help="send constant blocks as data, for old bootloaders that reject FILL chunks")

    erase = commands.add_parser("erase", help="erase a partition")
    erase.add_argument("partition")
    erase.add_argument("--slot", choices=("a", "b", "other"))

    set_active = commands.add_parser("set-active", help="make a slot the one that boots next")
    set_active.add_argument("slot", choices=("a", "b"))

    reboot = commands.add_parser("reboot", help="reboot the device")
    reboot.add_argument("target", nargs="?", choices=("bootloader", "fastboot", "recovery"))

    fetch = commands.add_parser("fetch", help="read a partition back into a file")
    fetch.add_argument("partition")
    fetch.add_argument("file")
    fetch.add_argument("--slot", choices=("a", "b", "other"))

    emulator = commands.add_parser("emulator", help="run virtual handsets until interrupted")
    emulator.add_argument("--tcp", type=int, default=5554, metavar="PORT",
                          help="port of the first handset (default 5554; 0 picks free ports)")
    emulator.add_argument("--udp", type=int, metavar="PORT",
                          help="also serve fastboot over UDP from this port (0 picks free ports)")
    emulator.add_argument("--count", type=int, default=1, help="number of handsets")
    emulator.add_argument("--storage", metavar="DIR", help="folder for the handsets' partitions")
    emulator.add_argument("--profile", metavar="FILE", help="device profile (JSON)")
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")

    demo = commands.add_parser("demo", help="update virtual handsets from start to finish")
    demo.add_argument("--count", type=int, default=3, help="number of virtual handsets")
    demo.add_argument("--storage", metavar="DIR", help="keep the handsets in this folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..errors import FlasherError
    from . import logs
    logs.configure(verbose=args.verbose)
    try:
        if args.command == "emulator":
            from .emulator_command import run_emulator
            return run_emulator(args)
        if args.command == "demo":
            from .demo_command import run_demo
            return run_demo(args)
        from .device_commands import run_device_command
        return run_device_command(args)
    except FlasherError as error:
        print(f"tsuf: error: {error}", file=sys.stderr)
        if error.hint:
            print(f"tsuf: {error.hint}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("tsuf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
