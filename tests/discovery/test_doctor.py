"""Each doctor check as a function of the facts, and the checks run on this machine."""

import dataclasses

import pytest

from flasher.discovery import doctor
from flasher.discovery.doctor import FAIL, OK, WARN, Facts, run_checks
from flasher.discovery.found import FoundDevice
from flasher.discovery.scanner import Problem
from flasher.transport import usb as usb_link

HANDSET = FoundDevice("usb:S1", "usb", "fastboot", "S1")
HEALTHY = Facts(platform="linux", libusb_error=None, user_groups=frozenset({"me", "dialout"}),
                existing_serial_groups=frozenset({"dialout"}), devices=(HANDSET,))


def _check(name, **changes):
    return {check.name: check for check in run_checks(dataclasses.replace(HEALTHY, **changes))}.get(name)


def test_a_healthy_linux_machine_is_all_ok():
    checks = run_checks(HEALTHY)
    assert [(c.name, c.status) for c in checks] == [
        ("libusb", OK), ("USB access", OK), ("serial ports", OK), ("handsets", OK)]
    assert "usb:S1 [fastboot]" in checks[-1].message


def test_no_libusb_fails_and_names_the_fix():
    check = _check("libusb", libusb_error="no libusb library could be loaded")
    assert check.status == FAIL
    assert "libusb-package" in check.advice and "libusb-1.0" in check.advice


@pytest.mark.parametrize("changes, status, words", [
    ({"usb_dir_exists": False}, WARN, "container"),
    ({"usb_dir_readable": False}, FAIL, "51-tsuf-android.rules"),
    ({"unreadable_usb_serials": 2}, FAIL, "udevadm control --reload-rules"),
])
def test_usb_permissions_on_linux(changes, status, words):
    check = _check("USB access", **changes)
    assert check.status == status
    assert words in check.advice


def test_usb_permissions_are_not_checked_off_linux():
    assert _check("USB access", platform="darwin", usb_dir_exists=False) is None


@pytest.mark.parametrize("groups, existing, group", [
    ({"me"}, {"dialout"}, "dialout"),
    ({"me"}, {"uucp"}, "uucp"),
])
def test_a_user_outside_the_serial_group_is_told_how_to_join(groups, existing, group):
    check = _check("serial ports", user_groups=frozenset(groups), existing_serial_groups=frozenset(existing))
    assert check.status == WARN
    assert f"usermod -aG {group}" in check.advice


def test_root_needs_no_serial_group():
    assert _check("serial ports", user_groups=frozenset({"root"}), is_root=True).status == OK


@pytest.mark.parametrize("changes", [{"user_groups": None}, {"existing_serial_groups": frozenset()},
                                     {"platform": "darwin"}])
def test_serial_group_check_only_where_groups_guard_ports(changes):
    assert _check("serial ports", **changes) is None


def test_winusb_hint_only_on_windows():
    assert _check("WinUSB") is None
    windows = dict(platform="win32", user_groups=None, existing_serial_groups=frozenset())
    assert _check("WinUSB", **windows).status == OK
    check = _check("WinUSB", devices=(), **windows)
    assert check.status == WARN and "Zadig" in check.advice
    assert _check("USB access", **windows) is None


def test_no_handsets_gives_a_checklist_and_source_problems():
    check = _check("handsets", devices=(), scan_problems=("network: bad targets",))
    assert check.status == WARN
    assert "bad targets" in check.message
    for words in ("data cable", "fastboot mode", "tsuf devices"):
        assert words in check.advice


class _Scanner:
    problems = [Problem("usb", "usb broke", ""), Problem("network", "targets unreadable", "")]

    def scan(self):
        return [HANDSET]


def test_gather_facts_reads_this_machine_without_failing():
    facts = doctor.gather_facts(_Scanner())
    assert facts.devices == (HANDSET,)
    assert "targets unreadable" in facts.scan_problems
    assert all(check.status in (OK, WARN, FAIL) for check in run_checks(facts))


def test_gather_facts_without_libusb_reports_it_once(monkeypatch):
    def no_libusb():
        raise usb_link.UsbUnavailable("no libusb library could be loaded")

    monkeypatch.setattr(usb_link, "libusb_backend", no_libusb)
    facts = doctor.gather_facts(_Scanner())
    assert facts.libusb_error == "no libusb library could be loaded"
    assert facts.scan_problems == ("targets unreadable",)  # the usb source's failure is the same news


def test_a_handset_in_recovery_is_named_with_what_to_do():
    in_recovery = FoundDevice("usb:S2", "usb", "sideload", "S2")
    nameless = FoundDevice("tcp:127.0.0.2:5554", "tcp", "recovery")
    assert _check("recovery") is None  # only fastboot handsets: nothing to say
    check = _check("recovery", devices=(HANDSET, in_recovery, nameless))
    assert check.status == WARN
    assert check.message == "in recovery, answering ADB instead of fastboot: usb:S2 (S2), tcp:127.0.0.2:5554 (serial unknown)"
    assert "`tsuf update` sends a handset in recovery to its bootloader first" in check.advice
    assert "usb:S2 [recovery (ADB sideload)]" in _check("handsets", devices=(in_recovery,)).message
