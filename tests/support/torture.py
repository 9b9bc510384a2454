"""The torture harness: updates with one injected fault each, then the invariants.

Each case puts a virtual handset (a `tsuf emulator` process) and a station
(a `tsuf update` process) through one fault at one phase, runs the update
again with nothing injected, and checks what a user relies on:

- after every run the handset has exactly one active slot, and it is bootable
  and verified (nothing half-written is ever active);
- until the new build has booted, a slot still holds the last build known to
  boot (a rerun never overwrites the way back);
- the second run succeeds, resuming when there was something to resume;
- the history holds exactly one finished report per attempt.

Faults are placed at command boundaries (like power cuts at write
boundaries), not at random times, so every phase is hit.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flasher.update.updater import Updater
from flasher.virtual.handset import Handset
from flasher.virtual.slots import SlotStore
from flasher.virtual.verified_boot import VerifiedBoot

from .handsets import EmulatorProcess, small_profile
from .packages import make_keys, make_package

# The command that marks each phase of an A/B update (see flasher/update/session.py).
PHASES = {
    "preflight": "getvar:all",  # the capability probe: once per connection, first in preflight
    "write boot": "flash:boot_b",
    "write system": "flash:system_b",
    "write vbmeta": "flash:vbmeta_b",
    "verify": "fetch:system_b",
    "switch": "set_active",
    "reboot": "reboot",
    "confirm": "getvar:slot-successful",
}
KINDS = ("link drop", "fail", "stall", "device killed", "power cut", "host killed", "serial noise")
HOLD = 30  # seconds a stalled command waits: long enough for the kill to land in its phase
STATION_TIMEOUT = 1.0
SERIAL = "VH000001"
LAST_GOOD, NEW_BUILD = "B120", "B130"


@dataclass(frozen=True)
class Case:
    number: int
    phase: str
    kind: str

    def faults(self) -> tuple[str, ...]:
        prefix = PHASES[self.phase]
        if self.kind == "link drop":
            return (f"drop-on:{prefix}",)
        if self.kind == "fail":
            return (f"fail:{prefix}=injected failure",)
        if self.kind == "stall":
            return (f"stall:{prefix}={STATION_TIMEOUT * 3}",)
        if self.kind == "serial noise":
            return ("line-errors:20000",)
        return (f"stall:{prefix}={HOLD}",)  # the kill lands while this command is held


def cases(count: int, seed: int) -> list[Case]:
    """Every (phase, kind) pair in turn, in a seeded order, `count` of them."""
    pairs = [(phase, kind) for phase in PHASES for kind in KINDS
             if not (kind == "power cut" and not phase.startswith("write"))]
    random.Random(seed).shuffle(pairs)
    return [Case(number, *pairs[number % len(pairs)]) for number in range(count)]


@dataclass
class Outcome:
    case: Case
    first: str = ""
    second: str = ""
    resumed: bool = False
    violations: list[str] = field(default_factory=list)


class Bench:
    """One folder with keys, a factory and an update package, reused by every case."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.keys = make_keys(folder)
        sizes = {"boot": 256 << 10, "system": 1 << 20}
        self.factory = make_package(folder, self.keys, build=LAST_GOOD, rollback_index=1, sizes=sizes, seed=1)
        self.update = make_package(folder, self.keys, build=NEW_BUILD, rollback_index=2, sizes=sizes, seed=2)
        self.profile = small_profile(SERIAL, oem_public_key=self.keys.oem_public_pem)
        self._factory_images = folder / "factory-images"
        self._factory_images.mkdir()
        with Updater(self.factory, self.keys.trust_store, _NullStation()) as line:
            line.prepare()
            self.factory_images = {name: Path(_copy(path, self._factory_images)) for name, path in line.images.items()}

    def run(self, case: Case) -> Outcome:
        outcome = Outcome(case)
        home = self.folder / f"case-{case.number}"
        storage = home / "handsets"
        handset = Handset(self.profile, storage / SERIAL)
        handset.factory_flash(self.factory_images)
        handset.shutdown()
        serial = case.kind == "serial noise"
        emulator = EmulatorProcess(storage, profile=self.profile, serial=serial, faults=case.faults())
        try:
            self._powered_up = None
            outcome.first = self._first_run(case, emulator, home)
            emulator = self._restart(self._powered_up or emulator, storage)
            self._check_slots(storage, outcome, "after the faulty run")
            second = self._station(emulator.address, home)
            outcome.second, outcome.resumed = second.get("result", "?"), bool(second.get("resumed"))
        finally:
            emulator.stop()
        self._check_slots(storage, outcome, "after the second run")
        if outcome.second != "SUCCESS":
            outcome.violations.append(f"the second run ended {outcome.second}")
        reports = self._history(home)
        if len(reports) != 2 or any(r["result"] == "IN_PROGRESS" for r in reports):
            outcome.violations.append(f"history holds {[r['result'] for r in reports]} for 2 attempts")
        return outcome

    def _first_run(self, case: Case, emulator: EmulatorProcess, home: Path) -> str:
        address = emulator.serial_address if case.kind == "serial noise" else emulator.address
        if case.kind not in ("device killed", "power cut", "host killed"):
            return self._station(address, home).get("result", "?")
        station = subprocess.Popen(self._command(address), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   text=True, env=self._env(home))
        marker = _state_line(case.phase)
        deadline = time.monotonic() + 60
        for line in station.stderr:
            if marker in line or time.monotonic() > deadline:
                break
        time.sleep(0.2)  # let the held command reach the handset
        if case.kind == "host killed":
            station.send_signal(signal.SIGKILL)
            station.wait(10)
            return "KILLED"
        emulator.process.send_signal(signal.SIGKILL)
        emulator.process.wait(10)
        # The handset powers up again at the same address; the station may find it there.
        self._powered_up = self._restart(emulator, Path(emulator.folder).parent, port=int(address.rsplit(":", 1)[1]))
        station.wait(240)
        return "KILLED"

    def _restart(self, emulator: EmulatorProcess, storage: Path, port: int = 0) -> EmulatorProcess:
        emulator.stop()
        return EmulatorProcess(storage, profile=self.profile, port=port)

    def _station(self, address: str, home: Path) -> dict:
        done = subprocess.run(self._command(address) + ["--json"], capture_output=True, text=True,
                              env=self._env(home), timeout=180)
        try:
            return json.loads(done.stdout)[0]
        except (ValueError, IndexError):
            return {"result": f"no report (exit {done.returncode}: {done.stderr.strip()[-200:]})"}

    def _command(self, address: str) -> list[str]:
        return [sys.executable, "-m", "flasher.cli.main", "-s", address, "update", str(self.update),
                "--trust-store", str(self.keys.trust_store.folder), "--timeout", str(STATION_TIMEOUT)]

    def _env(self, home: Path) -> dict:
        return {**os.environ, "TSUF_HOME": str(home / "station"), "TSUF_STATION": "torture"}

    def _history(self, home: Path) -> list[dict]:
        done = subprocess.run([sys.executable, "-m", "flasher.cli.main", "history", "--json"],
                              capture_output=True, text=True, env=self._env(home), timeout=60)
        return json.loads(done.stdout or "[]")

    def _check_slots(self, storage: Path, outcome: Outcome, when: str) -> None:
        handset_folder = storage / SERIAL
        meta = SlotStore(handset_folder / "slots.json").load()
        active = meta.slot(meta.active)
        if active.unbootable or not (active.successful or active.tries_remaining):
            outcome.violations.append(f"{when}: active slot {meta.active} is not bootable")
        handset = Handset(self.profile, handset_folder)
        verified_boot = VerifiedBoot(handset.storage, self.profile.oem_public_key)
        check = verified_boot.check_slot(meta.active)
        builds = {result.build for slot in ("a", "b") if (result := verified_boot.check_slot(slot)).ok}
        handset.shutdown()
        if not check.ok:
            outcome.violations.append(f"{when}: active slot {meta.active} does not verify: {check.reason}")
        if not (active.successful and check.ok and check.build == NEW_BUILD) and LAST_GOOD not in builds:
            outcome.violations.append(f"{when}: no slot holds {LAST_GOOD}, the last build known to boot, "
                                      f"while {NEW_BUILD} is not confirmed")


def summary(outcomes: list[Outcome]) -> dict:
    return {
        "cases": len(outcomes),
        "faults by kind": dict(Counter(o.case.kind for o in outcomes)),
        "faults by phase": dict(Counter(o.case.phase for o in outcomes)),
        "invariant violations": sum(len(o.violations) for o in outcomes),
        "bricked handsets": sum(any("not bootable" in v or "does not verify" in v for v in o.violations)
                                for o in outcomes),
        "second run resumed": sum(o.resumed for o in outcomes),
        "second run restarted": sum(not o.resumed for o in outcomes),
    }


def _state_line(phase: str) -> str:
    """What the station prints (one line per state, not on a terminal) when it enters `phase`."""
    return {"preflight": "checking", "write boot": "writing boot_b", "write system": "writing system_b",
            "write vbmeta": "writing vbmeta_b", "verify": "verifying system_b", "switch": "switching",
            "reboot": "rebooting", "confirm": "confirming"}[phase]


def _copy(path: Path, folder: Path) -> str:
    target = folder / path.name
    target.write_bytes(path.read_bytes())
    return str(target)


class _NullStation:
    """The factory line needs no history."""

    station_id = "factory"

