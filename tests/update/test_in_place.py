"""Handsets without A/B slots: back up, write in place, restore when the new build fails."""

import dataclasses

import pytest

from flasher.fastboot import FastbootDevice
from flasher.update.session import Options
from flasher.update.updater import Updater
from flasher.virtual.profile import KiB, MiB, Partition
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import make_keys, make_package
from tests.support.stations import bench_station


def _no_slots_profile(oem_public_key: str):
    partitions = tuple(Partition(name, size, False) for name, size in (
        ("boot", 2 * MiB), ("vbmeta", 64 * KiB), ("system", 6 * MiB), ("misc", 64 * KiB)))
    return dataclasses.replace(small_profile(oem_public_key=oem_public_key), slot_count=0, partitions=partitions)


@pytest.fixture
def env(tmp_path):
    keys = make_keys(tmp_path)
    station = bench_station(tmp_path)
    running = RunningHandset(tmp_path / "handset", _no_slots_profile(keys.oem_public_pem))
    with Updater(make_package(tmp_path, keys, build="B120", rollback_index=1), keys.trust_store, station) as factory:
        factory.prepare()
        assert running.handset.factory_flash(factory.images) == ""

    class Env:
        handset = running
        before = {name: running.partition(name) for name in ("boot", "system", "vbmeta")}

        package = make_package(tmp_path, keys, build="B130", rollback_index=2)

        def update(self, **options):
            with Updater(self.package, keys.trust_store, station) as updater:
                (report,) = updater.update([running.address], options=Options(return_timeout=20, **options))
            return report

        def build(self):
            with FastbootDevice.open(running.address) as device:
                return device.getvar_optional("build")
    yield Env()
    running.stop()


def test_update_in_place(env, tmp_path):
    report = env.update()
    assert report.result == "SUCCESS", report.message
    assert report.path == "fastboot-in-place" and (report.from_slot, report.to_slot) == ("", "")
    assert env.build() == "B130"
    assert not list((tmp_path / "journal").rglob("*.img"))  # backups go once the build is confirmed


def test_a_build_that_does_not_boot_is_restored(env):
    env.handset.handset.faults.boot_fails.add("")
    report = env.update()
    assert report.result == "RESTORED", report.message
    assert "previous images were restored" in report.message
    env.handset.handset.faults.boot_fails.clear()
    for name, content in env.before.items():
        assert env.handset.partition(name) == content


def test_a_failed_verification_restores_before_reporting(env):
    env.handset.handset.faults.discard_flash.add("system")
    report = env.update()
    assert report.result == "VERIFY_FAILED"
    assert "restoring system" in open(report.log_path).read()
    for name, content in env.before.items():
        assert env.handset.partition(name) == content


def test_no_backup_no_update_unless_forced(env):
    env.handset.handset.faults.fail_commands["fetch:"] = "fetch not supported"
    report = env.update()
    assert report.result == "NO_BACKUP" and report.phase == "backup"
    assert "--force-without-backup" in report.message
    for name, content in env.before.items():
        assert env.handset.partition(name) == content


def test_an_interrupted_update_resumes_from_its_first_backup(env, tmp_path):
    env.handset.handset.faults.drop_after_bytes = 1_200_000  # inside system, after boot is written
    first = env.update()
    assert first.result == "LINK_LOST"
    backup = next((tmp_path / "journal" / "backups").rglob("system.img"))
    assert backup.read_bytes() == env.before["system"][:len(backup.read_bytes())]
    second = env.update()
    assert second.result == "SUCCESS", second.message
    assert second.resumed
    assert env.build() == "B130"


def test_a_handset_that_cannot_say_its_build_is_not_confirmed_and_keeps_its_backups(env, tmp_path):
    """No evidence is no success: the backups stay until something proves the new build boots."""
    env.handset.handset.faults.answers["build"] = ""  # an empty answer: not offered
    report = env.update()
    assert report.result == "NOT_CONFIRMED", report.message
    assert "not confirmed" in report.message
    assert list((tmp_path / "journal").rglob("*.img"))
