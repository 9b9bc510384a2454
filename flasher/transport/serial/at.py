"""Identify a handset's modem (AT) port with 3GPP TS 27.007 commands, and send it to download mode.

Probing must never wedge a port that is not a handset: a handful of short
commands, each read with a timeout, a byte budget for everything read and an
overall deadline. Any port can be a `serial.Serial` or anything with the same
`write`, `read`, `in_waiting`, `timeout` and `reset_input_buffer`.
"""

import time
from dataclasses import dataclass

from ..errors import AtCommandFailed

IDENTIFY_DEADLINE = 1.5
ECHO_OFF_WAIT = 0.5  # a port that does not answer ATE0 this fast is not a modem
READ_BUDGET = 4096
_POLL = 0.02
_FINAL_OK = "OK"
_FINAL_ERRORS = ("ERROR", "+CME ERROR", "+CMS ERROR", "NO CARRIER")


@dataclass(frozen=True)
class VendorCommands:
    download: str  # reboots to download mode
    serial_query: str | None  # answers the fastboot serial number, ties the port to fastboot


# Keyed by the AT+CGMI answer, upper-cased.
VENDORS = {
    "ZTE": VendorCommands(download="AT+ZDLMODE", serial_query="AT+ZSERIAL?"),
}


@dataclass(frozen=True)
class AtIdentity:
    manufacturer: str | None
    model: str | None
    revision: str | None
    imei: str | None
    serialno: str | None  # the fastboot serial number, when the vendor query answers


def vendor_commands(manufacturer: str | None) -> VendorCommands | None:
    return VENDORS.get((manufacturer or "").strip().upper())


def identify(port, *, deadline: float = IDENTIFY_DEADLINE) -> AtIdentity | None:
    """The handset behind an AT port, or None when the port does not answer like a modem."""
    until = time.monotonic() + deadline
    budget = _Budget(READ_BUDGET)
    port.reset_input_buffer()
    if _command(port, "ATE0", min(until, time.monotonic() + ECHO_OFF_WAIT), budget, flush=True) is None:
        return None
    manufacturer = _command(port, "AT+CGMI", until, budget)
    model = _command(port, "AT+CGMM", until, budget)
    revision = _command(port, "AT+CGMR", until, budget)
    imei = _command(port, "AT+CGSN", until, budget)
    vendor = vendor_commands(manufacturer)
    serialno = _command(port, vendor.serial_query, until, budget) if vendor and vendor.serial_query else None
    return AtIdentity(manufacturer or None, model or None, revision or None, imei or None, serialno or None)


def reboot_to_download(port, identity: AtIdentity | None = None, *, command: str | None = None,
                       timeout: float = IDENTIFY_DEADLINE) -> None:
    """Send the vendor's download-mode command; `command` overrides the vendor table."""
    if command is None:
        vendor = vendor_commands(identity.manufacturer if identity else None)
        if vendor is None:
            name = identity.manufacturer if identity else "an unidentified vendor"
            raise AtCommandFailed(f"no download-mode command is known for {name}",
                                  hint="Reboot the handset to download mode by hand (or name its AT command).")
        command = vendor.download
    if _command(port, command, time.monotonic() + timeout, _Budget(READ_BUDGET)) is None:
        raise AtCommandFailed(f"the modem port did not accept {command}")


class _Budget:
    def __init__(self, size: int):
        self.left = size


def _command(port, command: str, until: float, budget: _Budget, *, flush: bool = False) -> str | None:
    """The text of the answer before OK (may be empty), or None on ERROR, silence or garbage."""
    # A leading CR ends whatever half line the port held, so the command starts a fresh one.
    port.write((b"\r" if flush else b"") + command.encode("ascii") + b"\r")
    lines: list[str] = []
    pending = bytearray()
    port.timeout = _POLL
    while time.monotonic() < until and budget.left > 0:
        data = port.read(max(1, min(port.in_waiting, budget.left)))
        budget.left -= len(data)
        pending += data
        *complete, rest = pending.replace(b"\n", b"\r").split(b"\r")
        pending = bytearray(rest)
        for raw in complete:
            line = raw.decode("ascii", "replace").strip()
            if not line or line.upper() == command.upper():
                continue  # blank separators and the echo
            if line == _FINAL_OK:
                return " ".join(_strip_prefix(text, command) for text in lines)
            if line.startswith(_FINAL_ERRORS):
                return None
            lines.append(line)
    return None


def _strip_prefix(line: str, command: str) -> str:
    """`+CGMI: ZTE` -> `ZTE`; plain answers are left alone."""
    name = command[2:].rstrip("?").upper()
    if line.upper().startswith(name + ":"):
        return line[len(name) + 1:].strip()
    return line
