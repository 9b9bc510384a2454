"""What a user types wrong, and handsets that stall: named errors, no lost files, limits that say which fired."""

import os
import stat
import subprocess
import sys
import threading

import pytest

from flasher.cli.main import main
from flasher.history.report import Report
from flasher.history.store import HistoryStore
from tests.support.scripted_peer import ScriptedPeer


@pytest.fixture(autouse=True)
def station_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TSUF_DEVICE", raising=False)
    return tmp_path / "home"


def one_line_error(capsys, code: int, message: str) -> str:
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("tsuf: ")]
    assert message in lines[0], err
    return err


# -- fetch never costs the user a file -------------------------------------------------

def test_fetch_of_a_partition_the_handset_refuses_keeps_the_existing_file(running_handset, tmp_path, capsys):
    existing = tmp_path / "existing.txt"
    existing.write_text("the user's notes")
    code = main(["-s", running_handset.address, "fetch", "WRONGPART", str(existing)])
    one_line_error(capsys, code, "WRONGPART")
    assert existing.read_text() == "the user's notes"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["existing.txt", "handset"]  # no temporary left


def test_a_successful_fetch_replaces_the_file_keeping_its_mode(running_handset, tmp_path):
    target = tmp_path / "boot.img"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    assert main(["-s", running_handset.address, "fetch", "boot", str(target)]) == 0
    assert target.read_bytes() == running_handset.partition("boot_a")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_fetch_into_a_device_node_writes_in_place_and_never_removes_it(running_handset):
    assert main(["-s", running_handset.address, "fetch", "boot", os.devnull]) == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize("target, message", [("{tmp}", "is a folder"), ("/proc/version", "cannot write")])
def test_fetch_into_a_folder_or_a_proc_file_is_refused_before_the_handset_is_touched(
        running_handset, tmp_path, capsys, target, message):
    code = main(["-s", running_handset.address, "fetch", "boot", target.format(tmp=tmp_path)])
    one_line_error(capsys, code, message)


# -- deadlines the user sets, and errors that say which one fired ------------------------

def info_flood(stop: threading.Event):
    def reply(command, send, conn):
        while not stop.wait(0.2):  # looks busy forever: one INFO line after another
            send(b"INFOstill working")
    return reply


def test_a_handset_that_floods_info_lines_is_stopped_by_the_deadline_given(capsys):
    stop = threading.Event()
    with ScriptedPeer(info_flood(stop)) as peer:
        try:
            code = main(["-s", peer.address, "getvar", "product", "--timeout", "5", "--deadline", "1"])
        finally:
            stop.set()
    one_line_error(capsys, code, "getvar:product did not finish within its 1 s deadline")


def test_a_silent_handset_is_stopped_by_the_silence_timeout_given(capsys):
    with ScriptedPeer(lambda command, send, conn: None) as peer:
        code = main(["-s", peer.address, "getvar", "product", "--timeout", "0.5"])
    one_line_error(capsys, code, "getvar:product: no answer for 0.5 s")


def test_flash_shows_the_limits_that_apply(running_handset, tmp_path, capsys):
    image = tmp_path / "boot.img"
    image.write_bytes(os.urandom(64 * 1024))
    assert main(["-s", running_handset.address, "flash", "boot", str(image), "--deadline", "300"]) == 0
    assert "flash boot_a: stops after 30 s of silence or 300 s per command" in capsys.readouterr().err


# -- values checked when the command line is read ----------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["history", "--since", "notadate"], "argument --since: 'notadate' is not a date"),
    (["history", "--until", "31/01/2026"], "argument --until"),
    (["history", "--limit", "-5"], "argument --limit: -5 is out of range"),
    (["history", "--limit", "999999999999999999999999"], "argument --limit"),
    (["update", "x.zip", "--timeout", "-1"], "argument --timeout"),
    (["update", "x.zip", "--timeout", "nan"], "argument --timeout"),
    (["update", "x.zip", "--deadline", "inf"], "argument --deadline"),
    (["update", "x.zip", "--parallel", "0"], "argument --parallel: 0 is out of range"),
    (["getvar", "product", "--timeout", "0"], "argument --timeout"),
    (["emulator", "--storage", "/etc/passwd"], "argument --storage: '/etc/passwd' is not a folder"),
    (["emulator", "--profile", "/dev/zero"], "argument --profile: '/dev/zero' is not a regular file"),
    (["emulator", "--count", "1e9"], "argument --count"),
    (["cache", "add", "/tmp"], "argument file: '/tmp' is a folder"),
    (["keys", "import", "/nonexistent.pem"], "argument pem"),
])
def test_bad_values_are_refused_when_parsed(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_valid_date_still_filters(capsys):
    assert main(["history", "--since", "2026-01-31", "--until", "2026-02-01T00:00:00Z", "--limit", "5"]) == 0
    assert "no attempts recorded" in capsys.readouterr().err


def test_output_closed_early_ends_quietly_with_one_line(station_home):
    store = HistoryStore(station_home / "data" / "history.sqlite")
    for number in range(2000):  # far more than a pipe holds
        store.record(Report(report_id=f"r{number:05}", station_id="bench-1", device_serial=f"SN{number:05}",
                            product="tsuf_zte_ab", to_build="B130", started_at="2026-01-31T12:00:00Z",
                            message="x" * 100), queue_for_backend=False)
    store.close()
    reader = subprocess.Popen([sys.executable, "-m", "flasher.cli.main", "history", "--csv", "--local"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    reader.stdout.read(100)  # as `head -c 100` does
    reader.stdout.close()
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 1
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.splitlines()[0] == "tsuf: error: the output was closed before everything was written"
