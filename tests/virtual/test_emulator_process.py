"""`tsuf emulator` as a process: its handsets' slot metadata survives SIGKILL at any moment."""

import random
import threading
import time

from flasher.device import FastbootDevice
from flasher.errors import FlasherError
from flasher.virtual.slots import SlotStore
from tests.support.handsets import EmulatorProcess, small_profile


def test_slot_metadata_survives_sigkill_mid_switch(tmp_path):
    storage = tmp_path / "handsets"
    rng = random.Random(20261126)
    switches = []
    for _ in range(8):
        emulator = EmulatorProcess(storage, profile=small_profile())
        stop = threading.Event()

        def churn():
            try:
                with FastbootDevice.open(emulator.address) as device:
                    while not stop.is_set():
                        for slot in ("b", "a"):
                            device.set_active(slot)
                            switches.append(slot)
            except FlasherError:
                pass  # the emulator was killed under us: that is the point
        worker = threading.Thread(target=churn)
        worker.start()
        time.sleep(rng.uniform(0.05, 0.3))
        emulator.process.kill()
        emulator.process.wait(10)
        stop.set()
        worker.join(10)
        meta = SlotStore(storage / "VH000001" / "slots.json").load()
        assert meta.active in ("a", "b")
    assert len(switches) > 50  # the kills really landed mid-churn
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
