"""Following one handset by its serial number across reboots and links.

A reboot changes a handset's USB address, and it may come back on another link
(USB bootloader, then fastbootd over TCP) or in recovery, answering ADB. Its serial
number stays, so that is what is waited for.
"""

import time
from collections.abc import Sequence

from ..errors import FlasherError
from .found import RECOVERY_MODES, FoundDevice

FASTBOOT_MODES = ("fastboot", "fastbootd")
POLL_INTERVAL = 0.5


class HandsetNotFound(FlasherError):
    hint = ("Check that the handset is connected and shows fastboot mode; `tsuf devices` lists what "
            "TSUF sees, and `tsuf doctor` explains why a handset may be missing.")


IN_RECOVERY_HINT = ("It is in recovery: choose “Reboot to bootloader” in its menu (or let `tsuf update` "
                    "send it there), then try again.")


def wait_for_handset(serialno: str, *, timeout: float, scanner, poll: float = POLL_INTERVAL,
                     modes: Sequence[str] = FASTBOOT_MODES) -> FoundDevice:
    """The handset with `serialno` once it shows on any link in one of `modes` (fastboot or
    fastbootd; RECOVERY_MODES to follow it into recovery).

    A handset still listed from before a reboot counts: call this once it has left.
    Raises HandsetNotFound after `timeout` seconds, naming what was seen instead.
    """
    deadline = time.monotonic() + timeout
    seen: list[FoundDevice] = []
    while True:
        seen = scanner.scan()
        for device in seen:
            if device.serialno == serialno and device.mode in modes:
                return device
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(poll, left))
    wanted = " or ".join(dict.fromkeys("recovery" if mode in RECOVERY_MODES else "fastboot" for mode in modes))
    message = f"handset {serialno} did not appear in {wanted} mode within {timeout:g} s"
    elsewhere = [device for device in seen if device.serialno == serialno and device.mode in RECOVERY_MODES]
    if elsewhere:
        raise HandsetNotFound(f"{message}: it is in {elsewhere[0].mode_text} at {elsewhere[0].address}",
                              hint=IN_RECOVERY_HINT)
    raise HandsetNotFound(f"{message}; seen instead: {describe_seen(seen)}")


def describe_seen(devices: list[FoundDevice]) -> str:
    if not devices:
        return "no handsets at all"
    return "; ".join(f"{device.address} ({device.mode}, serial {device.serialno or 'unknown'})"
                     for device in devices)
