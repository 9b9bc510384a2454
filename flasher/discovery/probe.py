"""Asking a reachable handset who it is: serial number, product, fastboot or fastbootd."""

from ..device import FastbootDevice, Timeouts
from ..transport.base import Transport
from .found import FoundDevice

PROBE_TIMEOUT = 1.0
"""Seconds for a probe's connect and for each answer: listings must stay quick."""


def identify(transport: Transport, *, link: str, timeout: float = PROBE_TIMEOUT) -> FoundDevice:
    """Ask the handset behind `transport` three getvars, then close it."""
    timeouts = Timeouts(connect=timeout, response=timeout, command=timeout)
    with FastbootDevice(transport, timeouts=timeouts) as device:
        serialno = device.getvar_optional("serialno")
        product = device.getvar_optional("product")
        userspace = device.getvar_optional("is-userspace")
    mode = "fastbootd" if userspace == "yes" else "fastboot"
    return FoundDevice(transport.address, link, mode, serialno, product)
