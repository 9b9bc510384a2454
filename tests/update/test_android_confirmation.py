"""After the switch and reboot, a phone (a family that stays in Android) is confirmed through
its ADB: authenticated with the station's key once its user allows it, its build and
boot_completed read. With USB debugging off, or never allowed, the result says so."""

import threading

import pytest

from flasher.update.android_confirmation import ALLOW_PROMPT, VERIFIED_BOOT
from flasher.update.events import StateChanged
from flasher.update.session import Options
from flasher.update.updater import Updater
from flasher.virtual.handset import Mode
from flasher.virtual.usb_debugging import Debugging
from tests.support.handsets import RunningHandset, UsbHandsets, small_profile
from tests.support.locked import LockedBench
from tests.support.packages import make_keys, make_package, provision
from tests.support.stations import bench_station

SIZES = {"boot": 1 << 20, "system": 3 << 20}
NO_READ_BACK = "not available on this handset (it cannot be read back)"


@pytest.fixture
def bench(tmp_path):
    class Bench:
        keys = make_keys(tmp_path)
        station = bench_station(tmp_path)
        package = make_package(tmp_path, keys, sizes=SIZES)
        stops: list = []
        events: list = []

        def phone(self, link: str, debugging: Debugging):
            """A Qualcomm-bootloader phone with verified boot, on `link`: (handset, address)."""
            if link == "usb":
                usb = UsbHandsets(tmp_path / "usb", family="qualcomm", usb_debugging=debugging,
                                  oem_public_key=self.keys.oem_public_pem)
                self.stops.append(usb.stop)
                return usb.handset, usb.address
            running = RunningHandset(tmp_path / "tcp", small_profile(oem_public_key=self.keys.oem_public_pem),
                                     family="qualcomm", adb=True, usb_debugging=debugging)
            self.stops.append(running.stop)
            return running.handset, running.address

        def update(self, address: str, *, return_timeout: float = 20, on_event=None):
            def emit(event):
                self.events.append(event)
                if on_event:
                    on_event(event)
            with Updater(self.package, self.keys.trust_store, self.station) as updater:
                updater.prepare()
                return updater.update([address], options=Options(return_timeout=return_timeout), emit=emit)[0]

        def prompts(self) -> list:
            return [event for event in self.events if isinstance(event, StateChanged) and event.detail == ALLOW_PROMPT]
    bench = Bench()
    yield bench
    for stop in bench.stops:
        stop()


@pytest.mark.parametrize("link", ["tcp", "usb"])
def test_the_phone_is_confirmed_through_adb_once_its_user_allows_the_station(bench, link):
    handset, address = bench.phone(link, Debugging.ALLOW)
    report = bench.update(address)
    assert report.result == "SUCCESS", report.message
    assert "confirmed through ADB" in report.message and "B130" in report.message
    assert set(report.verification.values()) == {VERIFIED_BOOT}  # the bootloader cannot be read back
    assert handset.meta.active == "b" and handset.meta.b.successful  # marked once boot completed
    assert handset.usb_debugging.trusted()  # the station's key is now on the phone


def test_the_prompt_is_shown_while_the_phone_waits_for_its_user(bench):
    handset, address = bench.phone("tcp", Debugging.ASK)

    def allow_when_asked(event) -> None:
        if isinstance(event, StateChanged) and event.detail == ALLOW_PROMPT:
            threading.Timer(0.5, handset.usb_debugging.allow_waiting).start()  # the user taps "Allow"
    report = bench.update(address, on_event=allow_when_asked)
    assert report.result == "SUCCESS", report.message
    assert len(bench.prompts()) == 1


def test_a_user_who_never_allows_usb_debugging_ends_not_authorized_and_a_rerun_confirms(bench):
    handset, address = bench.phone("tcp", Debugging.ASK)
    report = bench.update(address, return_timeout=4)
    assert report.result == "NOT_AUTHORIZED", report.message
    assert "Allow USB debugging" in report.message
    assert bench.prompts() and handset.mode is Mode.ANDROID and handset.meta.active == "b"
    handset.usb_debugging.allow_waiting()
    handset._begin_reboot(Mode.BOOTLOADER)  # the user holds the keys for the bootloader
    assert handset.wait_for_mode(Mode.BOOTLOADER, 10)
    again = bench.update(address)
    assert again.result == "SUCCESS" and again.resumed and again.bytes_sent == 0, again.message


def test_with_usb_debugging_off_the_phone_seen_under_its_serial_is_booted_not_confirmed(bench):
    handset, address = bench.phone("usb", Debugging.OFF)
    report = bench.update(address, return_timeout=4)
    assert report.result == "BOOTED_NOT_CONFIRMED", report.message
    assert "USB debugging is off" in report.message
    assert handset.mode is Mode.ANDROID and handset.meta.active == "b"
    assert set(report.verification.values()) == {NO_READ_BACK}  # nothing proved the images


def test_with_usb_debugging_off_over_the_network_nothing_is_seen_and_nothing_is_confirmed(bench):
    handset, address = bench.phone("tcp", Debugging.OFF)
    report = bench.update(address, return_timeout=3)
    assert report.result == "NOT_CONFIRMED", report.message
    assert "offered no ADB" in report.message


def test_a_phone_whose_new_slot_does_not_boot_is_rolled_back(bench, tmp_path):
    handset, address = bench.phone("tcp", Debugging.ALLOW)
    provision([handset], make_package(tmp_path, bench.keys, build="B120", rollback_index=1), bench.keys,
              bench.station)
    handset.faults.boot_fails.add("b")
    report = bench.update(address)
    assert report.result == "ROLLED_BACK", report.message
    assert handset.meta.active == "a"


@pytest.mark.parametrize("link", ["tcp", "usb"])
def test_a_locked_phone_updated_through_recovery_is_confirmed_through_adb(tmp_path, link):
    bench = LockedBench(tmp_path, link, family="qualcomm", usb_debugging=Debugging.ALLOW)
    try:
        report = bench.update(bench.ota())
        assert report.result == "SUCCESS" and report.path == "sideload", report.message
        assert "confirmed through ADB" in report.message and report.to_slot == "b"
        assert bench.handset.mode is Mode.ANDROID and bench.handset.running_build == "B130"
    finally:
        bench.stop()


def test_a_damaged_station_key_is_named_and_nothing_is_confirmed(bench, tmp_path, monkeypatch):
    handset, address = bench.phone("tcp", Debugging.ALLOW)
    (tmp_path / "android").mkdir()
    (tmp_path / "android" / "adbkey").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path / "android"))
    report = bench.update(address)
    assert report.result == "NOT_CONFIRMED", report.message
    assert "the station's ADB key cannot be used" in report.message and "Move the file aside" in report.message
    assert handset.meta.active == "b" and not handset.usb_debugging.trusted()
