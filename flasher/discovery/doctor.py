"""Why a handset may not be seen: checks as pure functions of facts about the machine.

`gather_facts` is the only part that looks at the machine; each check takes the facts,
so every outcome can be tested without changing the machine.
"""

import os
import sys
from pathlib import Path
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import FlasherError
from .found import RECOVERY_MODES, FoundDevice

OK, WARN, FAIL = "OK", "WARN", "FAIL"
USB_DEVICE_DIR = "/dev/bus/usb"
SERIAL_GROUPS = ("dialout", "uucp")  # Debian/Ubuntu/Fedora, and Arch
# Beside flasher/ in a source tree and in a bundle (_internal/resources).
UDEV_RULE = Path(__file__).resolve().parents[2] / "resources" / "udev" / "51-tsuf-android.rules"
UDEV_INSTALL = (f"sudo cp {UDEV_RULE} /etc/udev/rules.d/ && sudo udevadm control --reload-rules "
                "&& sudo udevadm trigger, then replug the handset (a bundle's install-linux, run with sudo, "
                "does all of this)")


@dataclass(frozen=True)
class Facts:
    platform: str
    libusb_error: str | None
    """Why libusb could not be loaded; None when it loaded."""
    usb_dir_exists: bool = True
    usb_dir_readable: bool = True
    unreadable_usb_serials: int = 0
    """Fastboot and ADB devices on the bus whose serial number could not be read."""
    user_groups: frozenset[str] | None = None
    """Groups of the user; None where the platform has no such notion."""
    existing_serial_groups: frozenset[str] = frozenset()
    is_root: bool = False
    devices: tuple[FoundDevice, ...] = ()
    scan_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    message: str
    advice: str = ""


def check_libusb(facts: Facts) -> Check | None:
    if facts.libusb_error is None:
        return Check("libusb", OK, "libusb is loaded")
    return Check("libusb", FAIL, f"USB handsets cannot be reached: {facts.libusb_error}",
                 "Reinstall TSUF so that the libusb-package module is present "
                 "(pip install --force-reinstall libusb-package), or install libusb-1.0 from your system "
                 "(e.g. sudo apt install libusb-1.0-0).")


def check_usb_permissions(facts: Facts) -> Check | None:
    if not facts.platform.startswith("linux"):
        return None
    if not facts.usb_dir_exists:
        return Check("USB access", WARN, f"{USB_DEVICE_DIR} does not exist, so no USB device is visible",
                     "In a container or virtual machine, pass the USB bus (or the handset) through to it.")
    if not facts.usb_dir_readable:
        return Check("USB access", FAIL, f"{USB_DEVICE_DIR} is not readable by this user",
                     f"Install the udev rule: {UDEV_INSTALL}.")
    if facts.unreadable_usb_serials:
        return Check("USB access", FAIL,
                     f"{facts.unreadable_usb_serials} fastboot or ADB device(s) found but this user may not open them",
                     f"Install the udev rule: {UDEV_INSTALL}.")
    return Check("USB access", OK, f"{USB_DEVICE_DIR} is readable")


def check_serial_group(facts: Facts) -> Check | None:
    if not facts.platform.startswith("linux") or facts.user_groups is None or not facts.existing_serial_groups:
        return None  # elsewhere serial ports are not kept behind a group
    if facts.is_root or facts.user_groups & facts.existing_serial_groups:
        return Check("serial ports", OK, "this user may open serial ports")
    group = sorted(facts.existing_serial_groups)[0]
    return Check("serial ports", WARN, f"this user is not in the {group} group, so serial ports stay closed",
                 f"Run: sudo usermod -aG {group} $USER, then log out and back in.")


def check_windows_driver(facts: Facts) -> Check | None:
    if facts.platform != "win32":
        return None
    if any(device.link == "usb" for device in facts.devices):
        return Check("WinUSB", OK, "a USB handset answers through WinUSB")
    return Check("WinUSB", WARN, "no USB handset answers",
                 "If Device Manager shows the handset without a driver (or as 'Android' with a warning), "
                 "bind its fastboot interface to WinUSB with Zadig, then replug it.")


def check_devices(facts: Facts) -> Check | None:
    problems = "".join(f" ({problem})" for problem in facts.scan_problems)
    if facts.devices:
        names = ", ".join(f"{device.address} [{device.mode_text}]" for device in facts.devices)
        return Check("handsets", OK, f"{len(facts.devices)} found: {names}{problems}")
    return Check("handsets", WARN, f"no handset found{problems}",
                 "Check: 1. a data cable, not a charge-only one, and another USB port; 2. the handset shows "
                 "fastboot mode (hold volume down while powering on, or `adb reboot bootloader`); "
                 "3. for network handsets, list their addresses in --targets FILE or $TSUF_TARGETS; "
                 "4. run `tsuf devices` again.")


def check_recovery(facts: Facts) -> Check | None:
    """A handset in recovery answers ADB, not fastboot: seen, but not where fastboot tools look."""
    in_recovery = [device for device in facts.devices if device.mode in RECOVERY_MODES]
    if not in_recovery:
        return None
    names = ", ".join(f"{device.address} ({device.serialno or 'serial unknown'})" for device in in_recovery)
    return Check("recovery", WARN, f"in recovery, answering ADB instead of fastboot: {names}",
                 "`tsuf update` sends a handset in recovery to its bootloader first (a sideload package then "
                 "takes it back to recovery to install); fastboot commands need it in the bootloader: choose "
                 "“Reboot to bootloader” in recovery's menu.")


CHECKS: tuple[Callable[[Facts], Check | None], ...] = (
    check_libusb, check_usb_permissions, check_serial_group, check_windows_driver, check_devices, check_recovery)


def run_checks(facts: Facts) -> list[Check]:
    return [check for check in (run(facts) for run in CHECKS) if check is not None]


def gather_facts(scanner) -> Facts:
    """Look at this machine: libusb, /dev/bus/usb, groups, and one scan."""
    from ..transport import usb as usb_link
    from .usb_source import find_handsets
    libusb_error = None
    unreadable = 0
    try:
        backend = usb_link.libusb_backend()
        unreadable = sum(info.serial is None for info, _interface in find_handsets(backend))
    except FlasherError as exc:
        libusb_error = str(exc)
    except Exception as exc:  # a broken libusb install can fail in many ways
        libusb_error = f"{type(exc).__name__}: {exc}"
    devices = tuple(scanner.scan())
    return Facts(
        platform=sys.platform, libusb_error=libusb_error,
        usb_dir_exists=os.path.isdir(USB_DEVICE_DIR),
        usb_dir_readable=os.access(USB_DEVICE_DIR, os.R_OK | os.X_OK),
        unreadable_usb_serials=unreadable,
        user_groups=_user_groups(), existing_serial_groups=_existing_serial_groups(),
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        devices=devices,
        # the libusb check already explains a USB source that could not start
        scan_problems=tuple(problem.message for problem in scanner.problems
                            if not (libusb_error and problem.source == "usb")))


def _user_groups() -> frozenset[str] | None:
    try:
        import grp
    except ImportError:  # Windows
        return None
    names = set()
    for gid in os.getgroups():
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass  # a group id without a name
    return frozenset(names)


def _existing_serial_groups() -> frozenset[str]:
    try:
        import grp
    except ImportError:
        return frozenset()
    names = set()
    for name in SERIAL_GROUPS:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        names.add(name)
    return frozenset(names)
