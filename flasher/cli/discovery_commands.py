"""`tsuf devices` (list or watch every handset in reach) and `tsuf doctor`."""

import json
import sys
from dataclasses import asdict

from ..device_text import printable
from ..discovery.found import FoundDevice, mode_text
from ..discovery.network_source import NETWORK_SCHEMES, check_targets, read_targets, targets_file
from ..discovery.scanner import Problem, Scanner, default_sources
from .table import format_table

COLUMNS = ("address", "link", "mode", "serialno", "product", "vendor")
HEADINGS = ("ADDRESS", "LINK", "MODE", "SERIAL", "PRODUCT", "VENDOR")
WATCH_MARKS = {"arrived": "+", "departed": "-", "changed": "~"}


def make_scanner(args) -> Scanner:
    """USB, serial, and the network targets: the targets file's, then those given with -s
    (or $TSUF_DEVICE). Serial ports on USB are scanned anyway; one named with -s serial:PORT is
    probed too (a built-in UART, a pseudo-terminal). USB addresses add nothing."""
    path = targets_file(args.targets)
    targets = read_targets(path) if path else []
    given = [address for address in args.address or [] if address.partition(":")[0] in NETWORK_SCHEMES]
    ports = [address.partition(":")[2] for address in args.address or [] if address.startswith("serial:")]
    return Scanner(default_sources(check_targets(targets + given, "-s"), serial_ports=ports))


def run_devices(args) -> int:
    scanner = make_scanner(args)
    if args.watch:
        return _watch(scanner, args.json)
    devices = scanner.scan()
    _report_problems(scanner.problems)
    if args.json:
        print(json.dumps([asdict(device) for device in devices], indent=2))
    elif devices:
        print(devices_table(devices))
    else:
        print("tsuf: no handsets found; `tsuf doctor` explains why one may be missing", file=sys.stderr)
    return 0


def devices_table(devices: list[FoundDevice]) -> str:
    return format_table(HEADINGS, [tuple(printable(getattr(device, "mode_text" if column == "mode" else column) or "-")
                                         for column in COLUMNS) for device in devices])


def _watch(scanner: Scanner, as_json: bool) -> int:
    from ..discovery.watcher import Watcher
    reported = set()

    def scan() -> list[FoundDevice]:
        devices = scanner.scan()
        new = [problem for problem in scanner.problems if problem not in reported]
        reported.update(new)
        _report_problems(new)
        return devices

    try:
        for change in Watcher(scan).changes():
            if as_json:
                was = {"was": change.was} if change.was else {}
                print(json.dumps({"event": change.event, **asdict(change.device), **was}), flush=True)
            else:
                was = f"  (was {printable(mode_text(change.was))})" if change.was else ""
                print(f"{WATCH_MARKS[change.event]} {_one_line(change.device)}{was}", flush=True)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a watch ends
    return 0


def _one_line(device: FoundDevice) -> str:
    parts = [device.address, device.mode_text, f"serial {device.serialno or '?'}"]
    parts += [value for value in (device.product, device.vendor) if value]
    return "  ".join(map(printable, parts))


def _report_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(f"tsuf: warning: {printable(problem.message, None)}", file=sys.stderr)
        if problem.hint:
            print(f"tsuf: {problem.hint}", file=sys.stderr)


def run_doctor(args) -> int:
    from ..discovery.doctor import FAIL, gather_facts, run_checks
    checks = run_checks(gather_facts(make_scanner(args)))
    for check in checks:
        print(f"{check.status:<4}  {check.name}: {printable(check.message, None)}")
        if check.advice:
            print(f"      -> {check.advice}")
    return 1 if any(check.status == FAIL for check in checks) else 0
