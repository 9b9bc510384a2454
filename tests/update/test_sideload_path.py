"""Locked handsets: the session chooses recovery sideload, over TCP and emulated USB, and reports it."""

import pytest

from flasher.fastboot import FastbootDevice, Timeouts
from flasher.history.codes import Result
from flasher.update.events import Progress
from flasher.package.errors import PackageChanged
from flasher.update.journal import JournalEntry
from flasher.update.updater import Updater
from flasher.virtual.handset import Mode
from flasher.virtual.profile import KiB, MiB, Partition
from flasher.virtual.udp_server import HandsetUdpServer
from tests.support.locked import WAIT, LockedBench
from tests.support.packages import make_package


@pytest.fixture(params=["tcp", "usb"])
def bench(request, tmp_path):
    running = LockedBench(tmp_path, request.param)
    yield running
    running.stop()


@pytest.fixture
def tcp_bench(tmp_path):
    running = LockedBench(tmp_path, "tcp")
    yield running
    running.stop()


def test_a_locked_handset_is_updated_through_recovery(bench):
    package = bench.ota()
    report = bench.update(package)
    assert report.result == "SUCCESS", report.message
    assert report.path == "sideload" and report.address == bench.address
    assert (report.from_build, report.to_build) == ("B120", "B130")
    assert (report.from_slot, report.to_slot) == ("a", "b")
    assert report.bytes_sent >= package.stat().st_size
    assert "installed through recovery" in report.message
    for phase in ("preflight", "recovery", "sideload", "install", "confirm"):
        assert phase in report.durations
    assert bench.var("build") == "B130" and bench.var("unlocked") == "no"
    states = bench.states()
    assert states[:2] == ["checking", "rebooting"] and states[-3:] == ["installing", "confirming", "done"]
    progress = [event for event in bench.events if isinstance(event, Progress)]
    assert progress[-1].done == progress[-1].total == package.stat().st_size
    assert len(progress) > 10  # one per 64 KiB block
    assert bench.station.history.query()[0].path == "sideload"


def test_a_fastboot_package_on_a_locked_handset_needs_an_unlock_and_writes_nothing(tcp_bench):
    report = tcp_bench.update(make_package(tcp_bench.tmp_path, tcp_bench.keys))
    assert report.result == "NEEDS_UNLOCK" and report.code == Result.NEEDS_UNLOCK.code
    assert report.phase == "preflight" and not report.retryable
    assert "bootloader is locked, and this package can only be installed on an unlocked one" in report.message
    assert "manufacturer's signed update for tsuf_zte_ab" in report.message
    assert "erases the user's data" in report.message
    assert tcp_bench.running.partition("boot_b") == bytes(2 << 20)
    assert tcp_bench.handset.mode is Mode.BOOTLOADER


def test_dry_run_plans_the_sideload_and_leaves_the_handset_alone(tcp_bench):
    report = tcp_bench.update(tcp_bench.ota(), dry_run=True)
    assert report.result == "DRY_RUN" and report.path == "sideload"
    assert "through recovery at tcp:" in report.message
    assert tcp_bench.handset.mode is Mode.BOOTLOADER and tcp_bench.var("build") == "B120"


def test_a_package_the_handset_does_not_trust_is_refused_by_its_recovery(tcp_bench):
    # Signed with the release key: the station trusts it, the handset's recovery does not.
    report = tcp_bench.update(tcp_bench.ota(signer=tcp_bench.keys.signing))
    assert report.result == "SIDELOAD_REFUSED" and report.phase == "install" and not report.retryable
    assert "not signed for this handset" in report.message
    assert tcp_bench.handset.wait_for_mode(Mode.BOOTLOADER, WAIT)  # sent back to its system, then fastboot
    assert tcp_bench.var("build") == "B120" and tcp_bench.var("current-slot") == "a"


def test_a_cut_mid_sideload_keeps_the_old_build_and_the_next_attempt_succeeds(tcp_bench):
    package = tcp_bench.ota()
    tcp_bench.handset.faults.drop_after_bytes = package.stat().st_size // 2
    first = tcp_bench.update(package)
    assert first.result == "LINK_LOST" and first.retryable and first.phase == "sideload"
    assert tcp_bench.var("build") == "B120" and tcp_bench.var("current-slot") == "a"
    second = tcp_bench.update(package)
    assert second.result == "SUCCESS", second.message
    assert second.attempt == 2 and not second.resumed
    assert tcp_bench.var("build") == "B130"


def test_a_cut_over_usb_is_noticed_by_the_deadline_and_the_handset_sent_back(tmp_path):
    bench = LockedBench(tmp_path, "usb")
    try:
        package = bench.ota()
        bench.handset.faults.drop_after_bytes = package.stat().st_size // 2
        first = bench.update(package, timeouts=Timeouts(response=1.0))
        assert first.result == "LINK_TIMEOUT" and first.retryable
        assert bench.var("build") == "B120"
        assert bench.update(package).result == "SUCCESS"
    finally:
        bench.stop()


def test_a_handset_left_in_sideload_mode_is_brought_back_and_updated(tcp_bench):
    tcp_bench.handset._begin_reboot(Mode.SIDELOAD)  # where a cut attempt whose host died left it
    assert tcp_bench.handset.wait_for_mode(Mode.SIDELOAD, WAIT)
    report = tcp_bench.update(tcp_bench.ota())
    assert report.result == "SUCCESS", report.message
    assert "rebooting it to its bootloader" in open(report.log_path).read()


def test_a_sideload_drops_what_the_journal_says_about_the_handset(tcp_bench):
    stale = JournalEntry("VH000001", "ab" * 32, "a", "b", verified=["boot_b"])
    tcp_bench.station.journal.save(stale)
    assert tcp_bench.update(tcp_bench.ota()).result == "SUCCESS"
    # Recovery rewrote slot b; a later A/B run must not trust "boot_b verified".
    assert tcp_bench.station.journal.load("VH000001", "ab" * 32) is None


def test_a_handset_on_udp_cannot_sideload_and_is_told_to_use_usb(tmp_path):
    bench = LockedBench(tmp_path, "tcp")
    udp = HandsetUdpServer(bench.handset).start()
    try:
        bench.address = udp.address
        report = bench.update(bench.ota())
        assert report.result == "NO_SIDELOAD_LINK" and report.phase == "preflight"
        assert "Connect the handset by USB" in report.message
        assert bench.handset.mode is Mode.BOOTLOADER
    finally:
        udp.stop()
        bench.stop()


def test_an_unlocked_handset_with_a_sideload_package_also_takes_recovery(tmp_path):
    bench = LockedBench(tmp_path, "tcp")
    try:
        with FastbootDevice.open(bench.address) as device:
            device.command("flashing unlock")
        report = bench.update(bench.ota())
        assert report.result == "SUCCESS" and report.path == "sideload"
    finally:
        bench.stop()


def test_a_package_changed_after_its_check_is_not_sent(tcp_bench):
    package = tcp_bench.ota()
    with Updater(package, tcp_bench.keys.trust_store, tcp_bench.station) as updater:
        data = bytearray(package.read_bytes())
        data[len(data) // 2] ^= 0xFF
        package.write_bytes(bytes(data))
        with pytest.raises(PackageChanged):
            updater.update([tcp_bench.address])
    assert tcp_bench.handset.mode is Mode.BOOTLOADER and tcp_bench.var("build") == "B120"


def test_a_handset_without_slots_keeps_its_in_place_backups_until_a_sideload_succeeds(tmp_path):
    partitions = tuple(Partition(name, size, False) for name, size in (
        ("boot", 2 * MiB), ("vbmeta", 64 * KiB), ("system", 6 * MiB), ("userdata", 4 * MiB)))
    bench = LockedBench(tmp_path, "tcp", slot_count=0, partitions=partitions)
    try:
        interrupted = JournalEntry("VH000001", "cd" * 32, "", "", verified=["boot"], backups={"boot": "ef" * 32})
        bench.station.journal.save(interrupted)
        refused = bench.update(bench.ota(signer=bench.keys.signing))
        assert refused.result == "SIDELOAD_REFUSED" and refused.path == "sideload"
        assert bench.station.journal.load("VH000001", "cd" * 32) == interrupted  # recovery restored its state
        assert bench.handset.wait_for_mode(Mode.BOOTLOADER, WAIT)  # back from its old system
        report = bench.update(bench.ota())
        assert report.result == "SUCCESS", report.message
        assert (report.from_slot, report.to_slot) == ("", "")
        assert bench.var("build") == "B130"
        assert bench.station.journal.load("VH000001", "cd" * 32) is None
    finally:
        bench.stop()


def test_a_dry_run_leaves_a_handset_in_recovery_where_it_is(tcp_bench):
    tcp_bench.handset._begin_reboot(Mode.SIDELOAD)
    assert tcp_bench.handset.wait_for_mode(Mode.SIDELOAD, WAIT)
    report = tcp_bench.update(tcp_bench.ota(), dry_run=True)
    assert report.result == "LINK_LOST" and report.phase == "connect"
    assert tcp_bench.handset.mode is Mode.SIDELOAD


def test_a_handset_that_cannot_say_its_build_after_recovery_is_not_confirmed(tcp_bench):
    tcp_bench.handset.faults.answers["build"] = ""
    report = tcp_bench.update(tcp_bench.ota())
    assert report.result == "NOT_CONFIRMED", report.message
    rollback = next(check for check in report.checks if check["check"] == "anti-rollback")
    assert rollback["outcome"] == "passed"  # the index is still reported


def test_an_unanswered_lock_state_is_not_taken_as_unlocked(tcp_bench):
    """The handset is locked but does not say so: the first flash is refused by the handset and
    nothing is written; the report names the lock."""
    tcp_bench.handset.faults.answers["unlocked"] = ""
    boot_b = tcp_bench.running.partition("boot_b")
    report = tcp_bench.update(make_package(tcp_bench.tmp_path, tcp_bench.keys))
    assert report.result == "NEEDS_UNLOCK", report.message
    lock = next(check for check in report.checks if check["check"] == "bootloader unlocked")
    assert lock["outcome"] == "not available"
    assert tcp_bench.running.partition("boot_b") == boot_b
