"""Waiting for one handset: back in fastboot or fastbootd, in recovery, or in Android's ADB.

A reboot takes a handset off its link for a while. It may come back at another
address (a new USB enumeration, fastbootd over TCP) or in another mode, but its
serial number stays, so that is what is waited for. Every wait here keeps one
policy (`poll_until`): look at once, then every `poll` seconds, a last time at
the deadline, `timeout` seconds after the wait began; tell the face how long it
has waited every PROGRESS_EVERY seconds; and when time is up, say what was seen
instead: another serial number, the handset in another mode, or nothing at all.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from ..adb.client import AdbDevice
from ..adb.errors import Unauthorized
from ..adb.host_key import HostKey
from ..fastboot import FastbootDevice, Timeouts
from ..errors import FlasherError
from ..transport.errors import TransportError
from .found import RECOVERY_MODES, FoundDevice

FASTBOOT_MODES = ("fastboot", "fastbootd")
POLL = 0.2
SCAN_EVERY = 2.0
"""A scan of every link costs more than one connect: it is repeated this often at most."""
PROGRESS_EVERY = 5.0
CONNECT_TIMEOUT = 1.0
"""Each look connects for at most this long, so a look never eats the whole wait."""

Waited = Callable[[int], None]
"""Called with the whole seconds waited so far."""

T = TypeVar("T")


class HandsetNotFound(FlasherError):
    hint = ("Check the handset's screen and cable; it may be waiting in another mode. `tsuf devices` lists "
            "what TSUF sees, and `tsuf doctor` explains why a handset may be missing.")


NO_ADB_HINT = ("Check that the handset is in that mode and reachable at that address (over the network, its ADB "
               "port is its fastboot port + 1), then try again.")
IN_RECOVERY_HINT = ("It is in recovery: choose “Reboot to bootloader” in its menu (or let `tsuf update` "
                    "send it there), then try again.")


def poll_until(look: Callable[[float], T | None], *, timeout: float, poll: float = POLL,
               on_progress: Waited | None = None) -> T | None:
    """What `look(seconds left)` first returns that is not None; None when `timeout` seconds passed."""
    started = time.monotonic()
    deadline = started + timeout
    reported = 0
    while True:
        found = look(max(deadline - time.monotonic(), 0.0))
        if found is not None:
            return found
        now = time.monotonic()
        if now >= deadline:
            return None
        if on_progress is not None and now - started >= (reported + 1) * PROGRESS_EVERY:
            reported = int((now - started) // PROGRESS_EVERY)
            on_progress(int(now - started))
        time.sleep(min(poll, deadline - now))


def wait_for_fastboot(address: str, *, timeout: float, serialno: str | None = None, scanner=None,
                      timeouts: Timeouts = Timeouts(), poll: float = POLL, on_progress: Waited | None = None,
                      on_moved: Callable[[str], None] | None = None) -> FastbootDevice:
    """The handset back in fastboot or fastbootd: at `address`, or, with a discovery `scanner`,
    wherever it shows under `serialno` (`on_moved(new address)` says so). Without `serialno`
    whatever answers at `address` counts. The device returned has `timeouts`."""
    probing = replace(timeouts, connect=min(timeouts.connect, CONNECT_TIMEOUT))
    why: list[str] = []
    scanned = [time.monotonic()]  # the old address first: a handset mostly comes back where it was

    def look(_left: float) -> FastbootDevice | None:
        device = _open_if_same(address, serialno, probing, why)
        if device is not None:
            device.timeouts = timeouts
            return device
        if scanner is None or not serialno or time.monotonic() - scanned[0] < SCAN_EVERY:
            return None
        scanned[0] = time.monotonic()
        for found in scanner.scan():
            if found.serialno == serialno and found.mode in FASTBOOT_MODES and found.address != address:
                if on_moved is not None:
                    on_moved(found.address)
                return FastbootDevice.open(found.address, timeouts=timeouts)
        return None
    device = poll_until(look, timeout=timeout, poll=poll, on_progress=on_progress)
    if device is not None:
        return device
    message = f"{f'handset {serialno}' if serialno else address} did not appear in fastboot mode within {timeout:g} s"
    if scanner is not None and serialno:
        raise _not_found(message, serialno, scanner.scan())  # where it is now, not at the last look
    raise HandsetNotFound(message + (f" ({why[-1]})" if why else ""))


def _open_if_same(address: str, serialno: str | None, timeouts: Timeouts, why: list[str]) -> FastbootDevice | None:
    try:
        device = FastbootDevice.open(address, timeouts=timeouts)
    except TransportError as exc:
        why.append(str(exc))
        return None
    try:
        if serialno is None or device.getvar_optional("serialno") == serialno:
            return device
        why.append(f"{address} answers with another serial number than {serialno}")
    except TransportError as exc:  # a USB device may still be seen just before it leaves the bus
        why.append(str(exc))
    device.close()
    return None


def wait_for_handset(serialno: str, *, timeout: float, scanner, poll: float = POLL,
                     modes: Sequence[str] = FASTBOOT_MODES, on_progress: Waited | None = None) -> FoundDevice:
    """The handset with `serialno` once a discovery `scanner` sees it on any link in one of `modes`
    (FASTBOOT_MODES, or RECOVERY_MODES to follow it into recovery). A handset still listed from
    before a reboot counts: call this once it has left."""
    seen: list[FoundDevice] = []

    def look(_left: float) -> FoundDevice | None:
        seen[:] = scanner.scan()
        return next((device for device in seen if device.serialno == serialno and device.mode in modes), None)
    found = poll_until(look, timeout=timeout, poll=poll, on_progress=on_progress)
    if found is not None:
        return found
    wanted = " or ".join(dict.fromkeys("recovery" if mode in RECOVERY_MODES else "fastboot" for mode in modes))
    raise _not_found(f"handset {serialno} did not appear in {wanted} mode within {timeout:g} s", serialno, seen)


def _not_found(message: str, serialno: str, seen: list[FoundDevice]) -> HandsetNotFound:
    """Names where the handset is when it is in recovery, or everything seen instead."""
    elsewhere = [device for device in seen if device.serialno == serialno and device.mode in RECOVERY_MODES]
    if elsewhere:
        return HandsetNotFound(f"{message}: it is in {elsewhere[0].mode_text} at {elsewhere[0].address}",
                               hint=IN_RECOVERY_HINT)
    return HandsetNotFound(f"{message}; seen instead: {describe_seen(seen)}")


def describe_seen(devices: list[FoundDevice]) -> str:
    if not devices:
        return "no handsets at all"
    return "; ".join(f"{device.address} ({device.mode}, serial {device.serialno or 'unknown'})"
                     for device in devices)


def wait_for_adb(address: str, state: str | Sequence[str], *, timeout: float, poll: float = POLL,
                 key: HostKey | None = None, on_prompt: Callable[[], None] | None = None,
                 on_progress: Waited | None = None) -> AdbDevice:
    """The handset's ADB at `address` once it answers in `state` (one or several: "recovery",
    "sideload", "device" for Android). With `key`, Android's adbd is authenticated (see
    AdbDevice.greet): the phone's user has until the deadline to allow this computer,
    `on_prompt()` is called once as the phone first asks, and Unauthorized ends the wait
    when they never did."""
    wanted = (state,) if isinstance(state, str) else tuple(state)
    states: list[str] = []
    failures: list[FlasherError] = []
    prompted: list[bool] = []

    def prompt() -> None:
        if not prompted and on_prompt is not None:
            on_prompt()
        prompted.append(True)

    def look(left: float) -> AdbDevice | None:
        left = max(left, 0.05)
        try:
            device = AdbDevice.open(address, timeout=min(CONNECT_TIMEOUT, left), key=key, approval_timeout=left,
                                    on_prompt=prompt)
        except FlasherError as exc:
            failures.append(exc)
            return None
        if device.state in wanted:
            return device
        states.append(device.state)
        device.close()
        return None
    device = poll_until(look, timeout=timeout, poll=poll, on_progress=on_progress)
    if device is not None:
        return device
    if failures and isinstance(failures[-1], Unauthorized):
        raise Unauthorized(f"{address}: USB debugging was not allowed on the phone within {timeout:g} s")
    seen = f"the handset answered in state {states[-1]!r}" if states else (failures[-1] if failures else
                                                                            "nothing answered")
    raise HandsetNotFound(f"{address}: no handset in {' or '.join(wanted)} within {timeout:g} s ({seen})",
                          hint=NO_ADB_HINT)
