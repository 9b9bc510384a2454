"""Delta packages end to end: the same bytes as the full package, or a refusal before writing."""

import os

import pytest

from flasher.cache.store import FirmwareCache
from flasher.delta.build import build_delta_package
from flasher.package.build import PackageDescription, build_package
from flasher.update.events import StateChanged
from flasher.update.session import Options
from flasher.update.updater import Updater
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import make_keys, provision
from tests.support.stations import bench_station

SIZES = {"boot": 512 << 10, "system": 2 << 20}


def _build(folder, keys, build, rollback_index, images):
    folder.mkdir()
    for partition, data in images.items():
        (folder / f"{partition}.img").write_bytes(data)
    output = folder.parent / f"full-{build}.zip"
    build_package(folder, PackageDescription(hw_revisions=("10000",), build=build, rollback_index=rollback_index,
                                             product="tsuf_zte_ab", min_battery_mv=3600),
                  [keys.signing], output, oem_key=keys.oem)
    return output


@pytest.fixture
def env(tmp_path):
    keys = make_keys(tmp_path)
    old = {name: os.urandom(size // 2) + bytes(size - size // 2) for name, size in SIZES.items()}
    new = {}
    for name, data in old.items():  # a monthly update: a few scattered edits
        edited = bytearray(data)
        for offset in range(1000, len(edited) // 2, 97_000):
            edited[offset:offset + 64] = os.urandom(64)
        new[name] = bytes(edited)

    class Env:
        station = bench_station(tmp_path)
        full_old = _build(tmp_path / "old", keys, "B120", 1, old)
        full_new = _build(tmp_path / "new", keys, "B130", 2, new)
        delta = tmp_path / "delta-B120-B130.zip"
        handsets = []

        def handset(self, serialno="VH000001"):
            running = RunningHandset(tmp_path / serialno, small_profile(serialno, oem_public_key=keys.oem_public_pem))
            provision([running.handset], self.full_old, keys, self.station)
            self.handsets.append(running)
            return running

        def update(self, running, package, **kwargs):
            events = []
            with Updater(package, keys.trust_store, self.station, **kwargs) as updater:
                (report,) = updater.update([running.address], options=Options(return_timeout=20),
                                           emit=events.append)
            return report, events

    environment = Env()
    result = build_delta_package(environment.full_old, environment.full_new, [keys.signing], environment.delta,
                                 trust_store=keys.trust_store)
    assert result.package_bytes < environment.full_new.stat().st_size / 3  # a delta worth having
    yield environment
    for running in environment.handsets:
        running.stop()


def test_delta_update_ends_byte_identical_to_the_full_update(env):
    by_delta, by_full = env.handset("VH000001"), env.handset("VH000002")
    report, _ = env.update(by_delta, env.delta)
    assert report.result == "SUCCESS", report.message
    assert report.package_type == "delta"
    assert env.update(by_full, env.full_new)[0].result == "SUCCESS"
    for stem in ("boot_b", "system_b", "vbmeta_b"):
        assert by_delta.partition(stem) == by_full.partition(stem)


def test_a_changed_source_block_refuses_the_delta_before_writing(env):
    running = env.handset()
    system_a = running.handset.storage.path("system_a")
    data = bytearray(system_a.read_bytes())
    data[4096:4100] = b"\xde\xad\xbe\xef"
    system_a.write_bytes(bytes(data))
    slot_b_before = running.partition("system_b")
    report, _ = env.update(running, env.delta)
    assert report.result == "DELTA_SOURCE_MISMATCH", report.message
    assert running.partition("system_b") == slot_b_before


def test_the_full_package_is_the_fallback_when_the_delta_does_not_apply(env):
    running = env.handset()
    running.handset.storage.path("boot_a").write_bytes(b"\x00" * (2 << 20))
    report, _ = env.update(running, env.delta, fallback=env.full_new)
    assert report.result == "SUCCESS" and report.package_type == "full"
    history = [r.result for r in env.station.history.query()]
    assert history[:2] == ["SUCCESS", "DELTA_SOURCE_MISMATCH"]


def test_sources_come_from_the_cache_when_it_has_them(env, tmp_path):
    cache = FirmwareCache(tmp_path / "cache")
    first, second = env.handset("VH000001"), env.handset("VH000002")
    report, events = env.update(first, env.delta, cache=cache)
    assert report.result == "SUCCESS"
    assert any(isinstance(e, StateChanged) and e.state == "reading" for e in events)
    report, events = env.update(second, env.delta, cache=cache)
    assert report.result == "SUCCESS"
    assert not any(isinstance(e, StateChanged) and e.state == "reading" for e in events)
