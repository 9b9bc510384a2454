"""`tsuf emulator` as a process: its handsets' slot metadata survives SIGKILL at any moment."""

import random
import threading
import time

from flasher.fastboot import FastbootDevice
from flasher.errors import FlasherError
from flasher.virtual.slots import SlotStore
from tests.support.handsets import EmulatorProcess, small_profile


def test_slot_metadata_survives_sigkill_mid_switch(tmp_path):
    storage = tmp_path / "handsets"
    rng = random.Random(20261126)
    for _ in range(8):
        emulator = EmulatorProcess(storage, profile=small_profile())
        switches = []
        cut_off = threading.Event()

        def churn():
            try:
                with FastbootDevice.open(emulator.address) as device:
                    while True:
                        for slot in ("b", "a"):
                            device.set_active(slot)
                            switches.append(slot)
            except FlasherError:
                cut_off.set()  # the emulator was killed under us: that is the point
        worker = threading.Thread(target=churn, daemon=True)
        worker.start()
        # Kill after a number of switches, not a time, so a slow machine still kills mid-churn.
        wanted = rng.randint(3, 40)
        deadline = time.monotonic() + 120
        while len(switches) < wanted and worker.is_alive():
            assert time.monotonic() < deadline, f"only {len(switches)} switches"
            time.sleep(0.001)
        assert worker.is_alive(), "the churn stopped before the kill"
        emulator.process.kill()
        emulator.process.wait(10)
        worker.join(60)
        assert cut_off.is_set()  # the kill landed while the churn was switching slots
        meta = SlotStore(storage / "VH000001" / "slots.json").load()
        assert meta.active in ("a", "b")
    emulator = EmulatorProcess(storage, profile=small_profile())
    try:
        with FastbootDevice.open(emulator.address) as device:
            assert device.current_slot() in ("a", "b")
            assert device.getvar("slot-retry-count:b").isdigit()
    finally:
        emulator.stop()


def test_emulator_serves_udp_after_its_tcp_lines(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", count=2, profile=small_profile(), udp=True)
    try:
        assert [address.split(":")[0] for _, address, _ in emulator.handsets] == ["tcp", "tcp"]
        assert [serial for serial, _, _ in emulator.udp_handsets] == ["VH000001", "VH000002"]
        with FastbootDevice.open(emulator.udp_handsets[1][1]) as device:
            assert device.getvar("serialno") == "VH000002"
    finally:
        emulator.stop()
