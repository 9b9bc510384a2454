"""A/B slot metadata: set_active, trial boots, fallback, and saves that survive kills."""

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flasher.errors import FlasherError
from flasher.virtual.slots import (
    SlotMetadata,
    SlotMetadataError,
    SlotState,
    SlotStore,
    UnknownSlot,
    attempt_boot,
    factory_metadata,
    mark_successful,
    mark_unbootable,
    parse_slot,
    set_active,
)

REPO = Path(__file__).resolve().parents[2]


def never(slot):
    return False


def always(slot):
    return True


def test_factory_state_boots_slot_a_and_cannot_fall_back():
    meta = factory_metadata()
    assert meta.active == "a"
    assert meta.a.successful and meta.a.bootable
    assert meta.b == SlotState(tries_remaining=0, successful=False, unbootable=True)
    outcome = attempt_boot(meta, always)
    assert outcome.booted == "a" and not outcome.fell_back
    assert outcome.meta == meta  # a successful slot spends no tries


def test_set_active_gives_fresh_tries_and_leaves_the_other_slot():
    meta = set_active(factory_metadata(), "b", 7)
    assert meta.active == "b"
    assert meta.b == SlotState(tries_remaining=7, successful=False, unbootable=False)
    assert meta.a == factory_metadata().a
    # Like Android, re-activating a proven slot makes it unproven again.
    again = set_active(meta, "a", 7)
    assert again.a == SlotState(7, False, False) and again.b == meta.b


def test_failed_boots_count_down_then_fall_back_with_the_reason():
    meta = set_active(factory_metadata(), "b", 7)
    outcome = attempt_boot(meta, lambda slot: slot == "a")
    assert outcome.booted == "a"
    assert outcome.fell_back
    assert outcome.events[:7] == tuple(
        f"slot b failed to boot ({n} tries left)" for n in range(6, -1, -1)
    )
    assert outcome.events[7] == "slot b out of tries: marked unbootable, falling back to slot a"
    assert outcome.events[8] == "slot a booted"
    assert outcome.meta.active == "a"
    assert outcome.meta.b.unbootable and not outcome.meta.b.successful
    assert outcome.meta.a.successful


def test_a_slot_that_boots_is_marked_successful():
    meta = set_active(factory_metadata(), "b", 7)
    boots = iter([False, False, True])
    outcome = attempt_boot(meta, lambda slot: next(boots))
    assert outcome.booted == "b" and not outcome.fell_back
    assert outcome.events == (
        "slot b failed to boot (6 tries left)",
        "slot b failed to boot (5 tries left)",
        "slot b booted; update_verifier marked it successful",
    )
    b = outcome.meta.b
    assert b.successful and not b.unbootable and b.tries_remaining == 1  # as libboot_control


def test_success_on_the_last_try_keeps_the_slot_bootable():
    meta = set_active(factory_metadata(), "b", 1)
    outcome = attempt_boot(meta, always)
    assert outcome.booted == "b" and outcome.meta.b.bootable


def test_no_bootable_slot_is_reported():
    # Both slots freshly written and unproven; neither ever comes up.
    meta = set_active(set_active(factory_metadata(), "a", 2), "b", 3)
    outcome = attempt_boot(meta, never)
    assert outcome.booted is None and outcome.fell_back
    assert outcome.events[-1] == (
        "slot a out of tries: marked unbootable; slot b is not bootable either: no bootable slot"
    )
    assert outcome.meta.a.unbootable and outcome.meta.b.unbootable

    dead = mark_unbootable(mark_unbootable(factory_metadata(), "a"), "b")
    outcome = attempt_boot(dead, always)
    assert outcome.booted is None and not outcome.fell_back
    assert "no bootable slot" in outcome.events[-1]


def test_a_successful_slot_that_never_boots_is_a_bounded_boot_loop():
    calls = []
    outcome = attempt_boot(factory_metadata(), lambda s: calls.append(s) or False, max_attempts=5)
    assert calls == ["a"] * 5
    assert outcome.booted is None
    assert "boot loop" in outcome.events[-1]
    assert outcome.meta.a.successful  # tries are not spent on a proven slot


def test_mark_successful_refuses_an_unbootable_slot():
    with pytest.raises(SlotMetadataError) as info:
        mark_successful(factory_metadata(), "b")
    assert info.value.hint


def test_slot_names():
    assert parse_slot("a") == "a" and parse_slot("_b") == "b"
    for bad in ("c", "", "A", "_", "ab"):
        with pytest.raises(UnknownSlot) as info:
            parse_slot(bad)
        assert isinstance(info.value, FlasherError) and info.value.hint
    with pytest.raises(UnknownSlot):
        set_active(factory_metadata(), "c", 7)
    with pytest.raises(SlotMetadataError):
        set_active(factory_metadata(), "b", 0)


def test_store_defaults_to_factory_and_round_trips(tmp_path):
    store = SlotStore(tmp_path / "slots.json")
    assert store.load() == factory_metadata()
    assert not (tmp_path / "slots.json").exists()  # load never writes
    meta = set_active(factory_metadata(), "b", 7)
    store.save(meta)
    assert store.load() == meta
    assert SlotStore(tmp_path / "slots.json").load() == meta
    assert os.listdir(tmp_path) == ["slots.json"]  # no temp file left


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"format": 1, "active": "b", "slots": {"a": {"tries_remaining": 1, "succ',
        b"\xff\xfe garbage",
        b"[]",
        b'{"format": 1, "active": "c", "slots": {}}',
        json.dumps(
            {
                "format": 1,
                "active": "a",
                "slots": {
                    "a": {"tries_remaining": 9, "successful": True, "unbootable": False},
                    "b": {"tries_remaining": 0, "successful": False, "unbootable": True},
                },
            }
        ).encode(),
    ],
)
def test_a_damaged_file_is_a_named_error(tmp_path, content):
    path = tmp_path / "slots.json"
    path.write_bytes(content)
    with pytest.raises(SlotMetadataError) as info:
        SlotStore(path).load()
    assert "damaged" in str(info.value) and str(path) in info.value.hint


# Two states that differ in every field, so a torn write could not pass for either.
STATE_X = SlotMetadata(
    active="a",
    a=SlotState(tries_remaining=1, successful=True, unbootable=False),
    b=SlotState(tries_remaining=0, successful=False, unbootable=True),
)
STATE_Y = SlotMetadata(
    active="b",
    a=SlotState(tries_remaining=7, successful=False, unbootable=True),
    b=SlotState(tries_remaining=5, successful=True, unbootable=False),
)

SAVER = """
import json, sys
from flasher.virtual.slots import SlotMetadata, SlotStore
store = SlotStore(sys.argv[1])
x, y = (SlotMetadata.from_dict(json.loads(arg)) for arg in sys.argv[2:4])
store.save(x)
print("ready", flush=True)
while True:
    store.save(y)
    store.save(x)
"""


@pytest.mark.timeout(60)
def test_save_survives_sigkill_at_random_moments(tmp_path):
    path = tmp_path / "slots.json"
    store = SlotStore(path)
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [
        sys.executable,
        "-c",
        SAVER,
        str(path),
        json.dumps(STATE_X.to_dict()),
        json.dumps(STATE_Y.to_dict()),
    ]
    # Spread the kills over several save cycles, however slow fsync is on this disk.
    started = time.perf_counter()
    for _ in range(5):
        store.save(STATE_Y)
        store.save(STATE_X)
    cycle = (time.perf_counter() - started) / 5
    window = max(0.02, 6 * cycle)
    seen = []
    torn = 0
    for kill in range(30):
        child = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, cwd=tmp_path)
        try:
            assert child.stdout.readline() == b"ready\n", "saver did not start"
            time.sleep(rng.uniform(0, window))
            child.kill()  # SIGKILL on POSIX: no cleanup, no flush
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        assert child.returncode != 0
        torn += path.with_name("slots.json.tmp").exists()
        try:
            meta = store.load()
        except SlotMetadataError as exc:
            pytest.fail(f"kill {kill} (seed {seed}): {exc}")
        assert meta in (STATE_X, STATE_Y), f"kill {kill} (seed {seed}): mixed state {meta}"
        seen.append(meta)
    # The kills landed at different points of the loop, not always on one state.
    assert STATE_X in seen and STATE_Y in seen, f"seed {seed}: only one state seen"
    print(f"seed {seed}: {torn} of 30 kills left a temp file behind")
