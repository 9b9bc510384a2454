"""A handset whose serial number or product is a path or a terminal escape, as a station meets it:
`tsuf update`, `getvar`, `devices` and `history` keep every file inside the station's home and
print what the handset said with its control characters escaped."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from flasher.device_text import file_key
from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.packages import make_keys, make_package
from tests.support.scripted_peer import ScriptedPeer

TERMINAL_ATTACK = "\x1b[2J\x1b]0;pwned\x07"
CONTROL_BYTES = (b"\x1b", b"\x07", b"\xc2\x9b")  # ESC, BEL, and CSI as a one-character C1 control


class Station:
    """A station home plus one emulated handset that answers `getvar` with the given faults."""

    def __init__(self, root, *faults: str):
        self.root = root
        self.home = root / "home"
        self.keys = make_keys(root)
        self.package = make_package(root, self.keys)
        self.emulator = EmulatorProcess(root / "handsets", faults=faults,
                                        profile=small_profile(oem_public_key=self.keys.oem_public_pem))

    def tsuf(self, *args) -> subprocess.CompletedProcess:
        env = {**os.environ, "TSUF_HOME": str(self.home), "TSUF_STATION": "bench-9"}
        env.pop("TSUF_BACKEND", None)
        return subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True,
                              timeout=120, env=env)

    def update(self) -> subprocess.CompletedProcess:
        return self.tsuf("-s", self.emulator.address, "update", str(self.package),
                         "--trust-store", str(self.keys.trust_store.folder))

    def files_outside(self) -> set:
        """Files neither in the station's home nor in the handset's own storage."""
        kept = (self.home, self.emulator.folder.parent)
        return {path for path in self.root.rglob("*")
                if path.is_file() and not any(path.resolve().is_relative_to(folder.resolve()) for folder in kept)}


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def climbing_serial(target) -> str:
    """A serial number that, joined to any folder of the station, names `target`."""
    return "../" * 30 + str(target).lstrip("/")


def assert_no_control_bytes(result: subprocess.CompletedProcess) -> None:
    for stream in (result.stdout, result.stderr):
        assert not any(byte in stream for byte in CONTROL_BYTES), stream


def test_an_update_keeps_a_climbing_serials_log_and_journal_inside_the_home(tmp_path, outside):
    serial = climbing_serial(outside / "x")
    station = Station(tmp_path, f"answer:serialno={serial}", "drop-on:set_active")
    try:
        before = station.files_outside()
        result = station.update()
    finally:
        station.emulator.stop()
    assert result.returncode == 1  # the link dropped at the switch: the journal stays for a rerun
    assert station.files_outside() == before and not list(outside.iterdir())
    logs = list((station.home / "data" / "logs" / file_key(serial)).glob("*.log"))
    assert len(logs) == 1
    journal = list((station.home / "data" / "journal").glob("*.json"))
    assert len(journal) == 1 and journal[0].name.startswith(file_key(serial) + "-")
    assert json.loads(journal[0].read_text())["device_serial"] == serial  # the data keeps the real serial


def test_an_escape_sequence_serial_never_reaches_the_terminal_raw(tmp_path):
    station = Station(tmp_path, f"answer:serialno={TERMINAL_ATTACK}", f"answer:product=zte{TERMINAL_ATTACK}")
    address = station.emulator.address
    try:
        runs = {
            "update": station.update(),
            "getvar": station.tsuf("-s", address, "getvar", "serialno"),
            "getvar all": station.tsuf("-s", address, "getvar", "all"),
            "devices": station.tsuf("-s", address, "devices"),
            "devices json": station.tsuf("-s", address, "devices", "--json"),
            "verbose getvar": station.tsuf("-v", "-s", address, "getvar", "product"),
        }
    finally:
        station.emulator.stop()
    runs |= {"history": station.tsuf("history"), "history csv": station.tsuf("history", "--csv"),
             "history json": station.tsuf("history", "--json"), "summary": station.tsuf("history", "--summary")}
    for name, result in runs.items():
        assert_no_control_bytes(result)
    assert b"\\x1b[2J\\x1b]0;pwned\\x07" in runs["getvar"].stdout  # shown, escaped
    assert b"\\x1b[2J" in runs["devices"].stdout
    # The product does not match the package, and the refusal quotes it: escaped too.
    assert runs["update"].returncode == 1 and b"zte\\x1b[2J" in runs["update"].stdout
    # JSON keeps the exact strings (its escapes are JSON's own); CSV keeps them escaped.
    found = json.loads(runs["devices json"].stdout)
    assert found[0]["serialno"] == TERMINAL_ATTACK
    reports = json.loads(runs["history json"].stdout)
    assert reports[0]["device_serial"] == TERMINAL_ATTACK
    row = next(csv.DictReader(io.StringIO(runs["history csv"].stdout.decode())))
    assert row["device_serial"] == "\\x1b[2J\\x1b]0;pwned\\x07"
    assert b"\\x1b[2J" in runs["history"].stdout
    log = station.home / "data" / "logs" / file_key(TERMINAL_ATTACK)
    assert [path.suffix for path in log.iterdir()] == [".log"]
    assert b"\x1b" not in next(log.iterdir()).read_bytes()


def test_a_scripted_bootloader_cannot_write_to_the_terminal(tmp_path):
    """Bytes a real bootloader could send: an OSC title, a bell, an 8-bit CSI, in INFO and OKAY."""
    hostile = "\x1b]0;pwned\x07\u009b2J".encode()

    def reply(command, send, conn):
        send(b"INFO" + hostile)
        send(b"OKAY" + hostile)

    with ScriptedPeer(reply) as peer:
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", "-s", peer.address, "getvar", "serialno"],
                                capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert_no_control_bytes(result)
    assert b"(bootloader) \\x1b]0;pwned\\x07\\x9b2J" in result.stderr
    assert result.stdout == b"serialno: \\x1b]0;pwned\\x07\\x9b2J\n"
