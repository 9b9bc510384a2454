"""Every preflight refusal, reached through a real update of a virtual handset: refused by
name, in preflight, with nothing written; and every check listed in the report."""

import pytest

from flasher.update.session import Options
from flasher.update.updater import Updater
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import make_keys, make_package, provision
from tests.support.stations import bench_station

EMPTY_BOOT_B = bytes(2 << 20)


@pytest.fixture
def bench(tmp_path):
    class Bench:
        keys = make_keys(tmp_path)
        station = bench_station(tmp_path)
        handsets: list[RunningHandset] = []

        def handset(self, **changes) -> RunningHandset:
            running = RunningHandset(tmp_path / f"handset-{len(self.handsets)}",
                                     small_profile(oem_public_key=self.keys.oem_public_pem, **changes))
            self.handsets.append(running)
            provision([running.handset], make_package(tmp_path, self.keys, build="B120", rollback_index=1),
                      self.keys, self.station)
            return running

        def update(self, running: RunningHandset, policy=None, **package):
            with Updater(make_package(tmp_path, self.keys, **package), self.keys.trust_store, self.station) as updater:
                options = Options(return_timeout=20, **({"policy": policy} if policy else {}))
                return updater.update([running.address], options=options)[0]
    bench = Bench()
    yield bench
    for running in bench.handsets:
        running.stop()


def _refused(running, report, result, words):
    assert report.result == result and report.phase == "preflight", report.message
    assert words in report.message
    assert running.partition("boot_b") == EMPTY_BOOT_B  # nothing written
    failed = [check for check in report.checks if check["outcome"] == "failed"]
    assert failed and words in failed[0]["detail"]


def test_another_hardware_revision_is_refused(bench):
    running = bench.handset()
    _refused(running, bench.update(running, hw_revisions=("20000",)), "INCOMPATIBLE_PRODUCT",
             "hardware revision 10000 is not among 20000")


def test_an_unslotted_image_on_an_ab_handset_is_refused(bench):
    running = bench.handset()
    report = bench.update(running, sizes={"boot": 1 << 20, "misc": 64 << 10}, unslotted=frozenset({"misc"}))
    _refused(running, report, "INCOMPATIBLE_LAYOUT", "misc is not slotted")


def test_an_image_larger_than_its_partition_is_refused(bench):
    running = bench.handset()
    report = bench.update(running, sizes={"boot": 1 << 20, "system": 7 << 20})
    _refused(running, report, "INCOMPATIBLE_LAYOUT", "holds 6.0 MiB")


def test_a_partition_the_handset_lacks_is_refused(bench):
    running = bench.handset()
    report = bench.update(running, sizes={"boot": 1 << 20, "radio": 1 << 20})
    _refused(running, report, "INCOMPATIBLE_LAYOUT", "no partition radio_b")


def test_a_battery_the_handset_calls_too_low_is_refused(bench):
    running = bench.handset(battery_soc_ok=False)
    _refused(running, bench.update(running), "BATTERY_LOW", "battery too low")


def test_a_battery_below_the_package_minimum_is_refused(bench):
    running = bench.handset(battery_voltage_mv=3500)
    _refused(running, bench.update(running, min_battery_mv=3700), "BATTERY_LOW", "3500 mV, the package needs 3700")


def test_a_locked_bootloader_refuses_a_fastboot_package(bench):
    running = bench.handset(unlocked=False)
    _refused(running, bench.update(running), "NEEDS_UNLOCK", "locked")


def test_the_report_lists_every_check(bench):
    running = bench.handset()
    report = bench.update(running)
    assert report.result == "SUCCESS", report.message
    outcomes = {check["check"]: check["outcome"] for check in report.checks}
    assert outcomes == {"product": "passed", "hardware revision": "passed", "bootloader unlocked": "passed",
                        "last good slot kept": "passed", "slotted images": "passed", "boot_b size": "passed",
                        "system_b size": "passed", "vbmeta_b size": "passed", "anti-rollback": "passed", "battery": "passed"}
    assert report.verification == {"boot_b": "read back", "system_b": "read back", "vbmeta_b": "read back"}


def test_the_active_slot_not_yet_booted_keeps_the_other_one(bench):
    """After a switch whose reboot never came, the inactive slot is the way back: not written."""
    running = bench.handset()
    from flasher.fastboot import FastbootDevice
    with FastbootDevice.open(running.address) as device:
        device.set_active("b")  # slot b holds nothing that booted; slot a is the last good build
    slot_a = running.partition("boot_a")
    report = bench.update(running)
    assert report.result == "LAST_GOOD_SLOT" and report.phase == "preflight", report.message
    assert running.partition("boot_a") == slot_a


def test_an_unreported_battery_is_not_available_or_refused_by_policy(bench):
    from flasher.update.preflight import Policy
    running = bench.handset()
    running.handset.faults.answers.update({"battery-voltage": "", "battery-soc-ok": ""})  # empty: not offered
    refused = bench.update(running, policy=Policy(battery_unknown_ok=False))
    _refused(running, refused, "BATTERY_LOW", "does not report its battery level")
    report = bench.update(running)
    assert report.result == "SUCCESS", report.message
    battery = next(check for check in report.checks if check["check"] == "battery")
    assert battery["outcome"] == "not available"

