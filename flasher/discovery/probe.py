"""Asking a reachable handset who it is: serial number, product, and its mode
(fastboot or fastbootd over fastboot; recovery or sideload over recovery's ADB)."""

from ..adb.client import AdbDevice
from ..adb.errors import AuthRequired
from ..fastboot import FastbootDevice, Timeouts
from ..transport.base import Transport
from .found import PROBE_TIMEOUT, RECOVERY_MODES, FoundDevice


def identify(transport: Transport, *, link: str, timeout: float = PROBE_TIMEOUT) -> FoundDevice:
    """Ask the handset behind `transport` three getvars, then close it."""
    timeouts = Timeouts(connect=timeout, response=timeout, command=timeout)
    with FastbootDevice(transport, timeouts=timeouts) as device:
        serialno = device.getvar_optional("serialno")
        product = device.getvar_optional("product")
        userspace = device.getvar_optional("is-userspace")
    mode = "fastbootd" if userspace == "yes" else "fastboot"
    return FoundDevice(transport.address, link, mode, serialno, product)


def identify_adb(transport: Transport, *, address: str, link: str, serialno: str | None,
                 timeout: float = PROBE_TIMEOUT) -> FoundDevice:
    """Greet the ADB daemon behind `transport` and close it: its CNXN names its state and product.
    Nothing else is sent, so a daemon sideloading to another host on another link is not disturbed.
    ADB carries no serial number: the caller knows it (USB descriptor, an earlier fastboot answer)."""
    try:
        with AdbDevice.greet(transport, timeout=timeout) as device:
            answer = device.peer
    except AuthRequired:  # only Android's own adbd asks; recovery's never does
        return FoundDevice(address, link, "unknown", serialno,
                           detail="Android is running with USB debugging (ADB asks to authenticate), not recovery")
    product = answer.properties.get("ro.product.name") or None
    if answer.state not in RECOVERY_MODES:
        return FoundDevice(address, link, "unknown", serialno, product,
                           detail=f"ADB answers in state {answer.state!r}, not recovery")
    return FoundDevice(address, link, answer.state, serialno, product)
