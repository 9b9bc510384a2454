"""Following one handset by its serial number across reboots and links.

A reboot changes a handset's USB address, and it may come back on another link
(USB bootloader, then fastbootd over TCP). Its serial number stays, so that is
what is waited for.
"""

import time

from ..errors import FlasherError
from .found import FoundDevice

FASTBOOT_MODES = ("fastboot", "fastbootd")
POLL_INTERVAL = 0.5


class HandsetNotFound(FlasherError):
    hint = ("Check that the handset is connected and shows fastboot mode; `tsuf devices` lists what "
            "TSUF sees, and `tsuf doctor` explains why a handset may be missing.")


def wait_for_handset(serialno: str, *, timeout: float, scanner, poll: float = POLL_INTERVAL) -> FoundDevice:
    """The handset with `serialno` once it shows on any link in fastboot or fastbootd mode.

    A handset still listed from before a reboot counts: call this once it has left.
    Raises HandsetNotFound after `timeout` seconds, naming what was seen instead.
    """
    deadline = time.monotonic() + timeout
    seen: list[FoundDevice] = []
    while True:
        seen = scanner.scan()
        for device in seen:
            if device.serialno == serialno and device.mode in FASTBOOT_MODES:
                return device
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(poll, left))
    raise HandsetNotFound(f"handset {serialno} did not appear in fastboot mode within {timeout:g} s; "
                          f"seen instead: {describe_seen(seen)}")


def describe_seen(devices: list[FoundDevice]) -> str:
    if not devices:
        return "no handsets at all"
    return "; ".join(f"{device.address} ({device.mode}, serial {device.serialno or 'unknown'})"
                     for device in devices)
