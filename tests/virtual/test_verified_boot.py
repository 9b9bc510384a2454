"""The virtual handset boots only slots whose images match OEM-signed boot metadata."""

import pytest

from flasher.fastboot import FastbootDevice
from flasher.discovery.waiting import wait_for_fastboot
from flasher.history.store import HistoryStore
from flasher.package import keys
from flasher.update.journal import Journal
from flasher.update.session import Station
from flasher.update.updater import Updater
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import make_keys, make_package, provision


@pytest.fixture
def setup(tmp_path):
    keyring = make_keys(tmp_path)
    station = Station("t", HistoryStore(tmp_path / "h.sqlite"), tmp_path / "logs", Journal(tmp_path / "j"))
    running = RunningHandset(tmp_path / "handset", small_profile(oem_public_key=keyring.oem_public_pem))
    provision([running.handset], make_package(tmp_path, keyring, build="B120", rollback_index=4), keyring, station)
    yield tmp_path, keyring, station, running
    running.stop()


def _flash_slot_b(running, tmp_path, keyring, station, **package):
    with Updater(make_package(tmp_path, keyring, **package), keyring.trust_store, station) as updater:
        updater.prepare()
        with FastbootDevice.open(running.address) as device:
            for partition, path in updater.images.items():
                device.flash(f"{partition}_b", path)
            device.set_active("b")
            device.reboot()
    return wait_for_fastboot(running.address, timeout=20)


def test_a_provisioned_slot_reports_its_build_and_index(setup):
    _, _, _, running = setup
    with FastbootDevice.open(running.address) as device:
        assert device.getvar("build") == "B120"
        assert device.getvar("rollback-index") == "4"


def test_a_tampered_image_does_not_boot(setup):
    tmp_path, _, _, running = setup
    tampered = tmp_path / "evil.img"
    tampered.write_bytes(b"\x66" * 4096)
    with FastbootDevice.open(running.address) as device:
        device.flash("boot_a", tampered)
        device.reboot()
    with wait_for_fastboot(running.address, timeout=20):
        pass
    assert any("boot_a does not match its boot metadata" in event for event in running.handset.boot_log)


def test_a_lower_rollback_index_does_not_boot_and_falls_back(setup):
    tmp_path, keyring, station, running = setup
    with _flash_slot_b(running, tmp_path, keyring, station, build="B110", rollback_index=2) as device:
        assert device.current_slot() == "a"
        assert device.getvar("build") == "B120"
    assert any("rollback index 2 is below the stored 4" in event for event in running.handset.boot_log)


def test_metadata_signed_by_another_key_does_not_boot(setup):
    tmp_path, keyring, station, running = setup
    stranger = keyring.__class__(keyring.signing, keys.generate_key(), keyring.trust_store)
    with _flash_slot_b(running, tmp_path, stranger, station, build="B130", rollback_index=5) as device:
        assert device.current_slot() == "a"
    assert any("does not verify with the OEM key" in event for event in running.handset.boot_log)


def test_a_good_newer_slot_boots_and_raises_the_index(setup):
    tmp_path, keyring, station, running = setup
    with _flash_slot_b(running, tmp_path, keyring, station, build="B130", rollback_index=6) as device:
        assert device.current_slot() == "b"
        assert device.getvar("build") == "B130"
        assert device.getvar("rollback-index") == "6"
