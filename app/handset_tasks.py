"""Blocking work on one handset, run by the window's worker threads. No Qt here.

Each function opens the handset, does one thing and closes it, so the
handset is free for the next host (most handsets serve one at a time).
"""

from dataclasses import dataclass

from flasher.adb.transport import adb_address_for
from flasher.fastboot import FastbootDevice, Timeouts
from flasher.discovery.found import RECOVERY_MODES, FoundDevice
from flasher.discovery.waiting import wait_for_adb
from flasher.history.codes import Result
from flasher.history.report import Report
from flasher.update.session import Options

# Identification must stay quick: a silent handset should not hold a worker for long.
PROBE_TIMEOUTS = Timeouts(connect=2.0, response=2.0, command=4.0)


@dataclass(frozen=True)
class Identity:
    product: str = ""
    serialno: str = ""
    slot: str = ""
    build: str = ""
    battery_mv: str = ""


def identify(address: str) -> Identity:
    with FastbootDevice.open(address, timeouts=PROBE_TIMEOUTS) as device:
        def var(name: str) -> str:
            return device.getvar_optional(name) or ""
        return Identity(var("product"), var("serialno"), var("current-slot"), var("build"), var("battery-voltage"))


def reboot_to_bootloader(address: str) -> None:
    with FastbootDevice.open(address, timeouts=PROBE_TIMEOUTS) as device:
        device.reboot("bootloader")


def leave_recovery(address: str) -> None:
    """`adb reboot bootloader` for a handset in recovery, which answers ADB beside its fastboot address."""
    recovery = wait_for_adb(adb_address_for(address), RECOVERY_MODES, timeout=PROBE_TIMEOUTS.connect)
    recovery.reboot("bootloader")  # the link ends with it


def found_at(address: str) -> FoundDevice:
    """A FoundDevice for an address known in advance (demo bench, tests)."""
    return FoundDevice(address, address.partition(":")[0], "fastboot")


def preflight_check(updater, address: str) -> Report:
    """A dry run telling whether a package fits a handset: nothing is written to the
    handset, and nothing to the history (it is not an attempt)."""
    options = Options(dry_run=True, timeouts=PROBE_TIMEOUTS, record=False)
    return updater.session(address, options=options).run()


def is_compatible(report: Report) -> bool:
    return report.result == Result.DRY_RUN.name
