"""Full updates of virtual handsets: outcome, report, and what the handset holds after."""

import re
import threading

import pytest

from flasher.fastboot import FastbootDevice, Timeouts
from flasher.history.codes import Result
from flasher.update.events import Progress, StateChanged
from flasher.update.session import CancelToken, Options
from flasher.update.updater import Updater
from flasher.virtual.handset import Mode
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import make_keys, make_package, provision
from tests.support.stations import bench_station


@pytest.fixture
def env(tmp_path):
    class Env:
        keys = make_keys(tmp_path)
        station = bench_station(tmp_path)
        handset = RunningHandset(tmp_path / "handset", small_profile(oem_public_key=keys.oem_public_pem))

        def package(self, **kwargs):
            return make_package(tmp_path, self.keys, **kwargs)

        def update(self, package, **options):
            with Updater(package, self.keys.trust_store, self.station) as updater:
                events = []
                reports = updater.update([self.handset.address], options=Options(**{"return_timeout": 20, **options}),
                                         emit=events.append)
                self.events = events
                return reports[0]
    environment = Env()
    provision([environment.handset.handset], environment.package(build="B120", rollback_index=1),
              environment.keys, environment.station)
    yield environment
    environment.handset.stop()


def _var(env, name):
    with FastbootDevice.open(env.handset.address) as device:
        return device.getvar_optional(name)


def test_full_update_switches_slot_and_reports_success(env):
    package = env.package()
    boot_a_before = env.handset.partition("boot_a")
    report = env.update(package)
    assert report.result == "SUCCESS", report.message
    assert (report.from_slot, report.to_slot) == ("a", "b")
    assert (report.from_build, report.to_build) == ("B120", "B130") and report.device_serial == "VH000001"
    for phase in ("preflight", "write", "verify", "switch", "reboot", "confirm"):
        assert report.durations[phase] >= 0
    assert report.bytes_sent > 4 << 20
    assert _var(env, "current-slot") == "b"
    assert _var(env, "build") == "B130"
    assert _var(env, "rollback-index") == "5"
    assert env.handset.partition("boot_a") == boot_a_before  # the old slot is untouched
    assert env.station.history.query()[0].report_id == report.report_id
    assert report.log_sha256 and "switching" in report.log_tail
    states = [event.state for event in env.events if isinstance(event, StateChanged)]
    assert states[:2] == ["checking", "writing"] and states[-1] == "done"
    assert any(isinstance(event, Progress) for event in env.events)


def test_dry_run_writes_nothing(env):
    report = env.update(env.package(), dry_run=True)
    assert report.result == "DRY_RUN"
    assert re.fullmatch(r"would write 4\.0 MiB: boot -> boot_b, system -> system_b, vbmeta -> vbmeta_b",
                        report.message), report.message
    assert env.handset.partition("system_b") == bytes(6 << 20)


def test_package_for_another_product_is_refused_before_writing(env):
    report = env.update(env.package(product="tsuf_other"))
    assert report.result == "INCOMPATIBLE_PRODUCT" and report.phase == "preflight"
    assert env.handset.partition("boot_b") == bytes(2 << 20)


def test_downgrade_is_refused(env):
    assert env.update(env.package(build="B130", rollback_index=5)).result == "SUCCESS"
    report = env.update(env.package(build="B120", rollback_index=3))
    assert report.result == "ROLLBACK_REFUSED"
    assert report.code == Result.ROLLBACK_REFUSED.code and not report.retryable


def test_a_device_that_lies_about_writing_is_caught_by_verification(env):
    env.handset.handset.faults.discard_flash.add("system_b")
    report = env.update(env.package())
    assert report.result == "VERIFY_FAILED" and report.phase == "verify"
    assert _var(env, "current-slot") == "a"


def test_a_slot_that_does_not_boot_comes_back_rolled_back(env):
    env.handset.handset.faults.boot_fails.add("b")
    report = env.update(env.package())
    assert report.result == "ROLLED_BACK"
    assert _var(env, "current-slot") == "a"
    assert _var(env, "build") == "B120"
    assert _var(env, "rollback-index") == "1"  # the index did not rise


def test_a_refused_write_then_resume(env):
    package = env.package()
    env.handset.handset.faults.fail_commands["flash:system"] = "simulated write failure"
    first = env.update(package)
    assert first.result == "WRITE_FAILED" and first.retryable
    env.handset.handset.faults.fail_commands.clear()
    second = env.update(package)
    assert second.result == "SUCCESS", second.message
    assert second.resumed and second.attempt == 2
    assert second.bytes_sent < first.bytes_sent + (3 << 20)  # boot was not sent again
    assert "resuming: boot_b" in second.log_tail or "resuming" in open(second.log_path).read()


def test_a_refused_switch_then_resume(env):
    package = env.package()
    env.handset.handset.faults.fail_commands["set_active"] = "busy"
    assert env.update(package).result == "SWITCH_FAILED"
    assert _var(env, "current-slot") == "a"
    env.handset.handset.faults.fail_commands.clear()
    report = env.update(package)
    assert report.result == "SUCCESS" and report.resumed
    assert report.bytes_sent == 0


def test_cancel_leaves_the_active_slot_untouched(env, tmp_path):
    package = env.package()
    cancel = CancelToken()

    def emit(event):
        if isinstance(event, Progress):
            cancel.cancel()
    with Updater(package, env.keys.trust_store, env.station) as updater:
        (report,) = updater.update([env.handset.address], emit=emit, cancel=cancel)
    assert report.result == "CANCELLED"
    assert _var(env, "current-slot") == "a"


def test_several_handsets_at_once_one_failing(env, tmp_path):
    other = RunningHandset(tmp_path / "other", small_profile("VH000002", oem_public_key=env.keys.oem_public_pem))
    provision([other.handset], env.package(build="B120", rollback_index=1), env.keys, env.station)
    other.handset.faults.boot_fails.add("b")
    try:
        with Updater(env.package(), env.keys.trust_store, env.station) as updater:
            reports = updater.update([env.handset.address, other.address],
                                     options=Options(return_timeout=20))
    finally:
        other.stop()
    assert [r.result for r in reports] == ["SUCCESS", "ROLLED_BACK"]
    assert threading.active_count() < 50


@pytest.mark.parametrize("fault, value, count", [
    ("drop_after_bytes", 1_500_000, 1),  # past boot, in the middle of system's download
    ("drop_on_command", "download:", 2),  # boot verified, system not begun
    ("drop_on_command", "set_active", 1),  # everything verified, not switched
], ids=["mid-image", "between-images", "before-set-active"])
def test_interrupted_at_each_point_then_resumed(env, fault, value, count):
    package = env.package()
    setattr(env.handset.handset.faults, fault, value)
    env.handset.handset.faults.drop_on_count = count
    first = env.update(package)
    assert first.result == "LINK_LOST", first.message
    assert _var(env, "current-slot") == "a"
    final = env.update(package)
    assert final.result == "SUCCESS", final.message
    assert final.resumed and final.attempt == 2
    assert final.bytes_sent <= (3 << 20) + (64 << 10)  # boot (1 MiB) was not sent again
    assert _var(env, "current-slot") == "b"


def test_a_handset_that_returns_on_another_link_is_followed_by_serial(env):
    from flasher.discovery.network_source import NetworkSource
    from flasher.discovery.scanner import Scanner
    from flasher.virtual.handset import Mode
    from flasher.virtual.udp_server import HandsetUdpServer

    udp = HandsetUdpServer(env.handset.handset).start()
    try:
        def leave_tcp_on_reboot():
            if env.handset.handset.wait_for_mode(Mode.REBOOTING, 30):
                env.handset.server.stop()  # after the reboot it only answers on UDP
        watcher = threading.Thread(target=leave_tcp_on_reboot)
        watcher.start()
        with Updater(env.package(), env.keys.trust_store, env.station) as updater:
            (report,) = updater.update([env.handset.address], options=Options(
                return_timeout=20, scanner=Scanner([NetworkSource([udp.address])])))
        watcher.join()
    finally:
        udp.stop()
    assert report.result == "SUCCESS", report.message
    assert f"came back on {udp.address}" in open(report.log_path).read()


def test_a_handset_that_does_not_come_back_is_waited_for_visibly_until_the_deadline(env):
    def leave_on_reboot():
        if env.handset.handset.wait_for_mode(Mode.REBOOTING, 30):
            env.handset.server.stop()  # it never answers again
    watcher = threading.Thread(target=leave_on_reboot)
    watcher.start()
    report = env.update(env.package(), return_timeout=6)
    watcher.join()
    assert report.result == "DID_NOT_RETURN", report.message
    assert "handset VH000001 did not appear in fastboot mode within 6 s" in report.message
    waits = [event for event in env.events if isinstance(event, StateChanged) and event.detail.startswith("waiting")]
    assert waits, "the faces were never told how long the wait lasted"
    assert all(re.fullmatch(r"waiting for the handset to come back: \d+ s", event.detail) and
               event.state == "confirming" for event in waits)


def test_a_fit_check_leaves_no_report_and_no_log(env, tmp_path):
    with Updater(env.package(), env.keys.trust_store, env.station) as updater:
        report = updater.session(env.handset.address, options=Options(dry_run=True, record=False)).run()
    assert report.result == "DRY_RUN"
    assert env.station.history.query() == []
    assert not list((tmp_path / "logs").rglob("*.log"))


@pytest.mark.parametrize("fault", ["drop_on_command", "set_active_answer_lost"])
def test_a_rerun_after_the_switch_resumes_at_the_boot_and_keeps_the_old_slot(env, fault):
    """The link drops at `reboot` (or the answer to set_active is lost): the handset runs the
    new, never-booted slot. The rerun must boot and confirm it, never rewrite the old slot."""
    package = env.package()
    if fault == "drop_on_command":
        env.handset.handset.faults.drop_on_command = "reboot"
    else:
        env.handset.handset.faults.stall_commands["set_active"] = 3.0
    boot_a = env.handset.partition("boot_a")
    first = env.update(package, timeouts=Timeouts(response=1.0))
    assert first.result in ("LINK_LOST", "LINK_TIMEOUT"), first.message
    env.handset.handset.faults.stall_commands.clear()
    assert env.handset.handset.wait_until_idle(10)  # the stalled set_active has finished
    assert env.handset.handset.wait_for_mode(Mode.BOOTLOADER, 10)
    assert _var(env, "current-slot") == "b"
    final = env.update(package)
    assert final.result == "SUCCESS", final.message
    assert final.resumed and final.bytes_sent == 0
    assert env.handset.partition("boot_a") == boot_a  # the last good build is still there
    assert _var(env, "build") == "B130"


def test_a_handset_back_before_its_boot_was_marked_successful_is_confirmed_by_the_rerun(env):
    package = env.package()
    boot_a = env.handset.partition("boot_a")
    env.handset.handset.faults.answers["slot-successful:b"] = "no"  # as after a power cut mid-boot
    first = env.update(package, return_timeout=3)
    assert first.result == "WRONG_BUILD" and "run the update again" in first.message, first.message
    env.handset.handset.faults.answers.clear()
    final = env.update(package)
    assert final.result == "SUCCESS", final.message
    assert final.resumed and final.bytes_sent == 0
    assert env.handset.partition("boot_a") == boot_a
