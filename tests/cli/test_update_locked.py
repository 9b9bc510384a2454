"""`tsuf update` on a locked handset: the sideload path over TCP and emulated USB, as a station runs it.

Mostly in this process, so that `usb:` addresses reach the emulated USB bus; over TCP also
against `tsuf emulator --locked --adb` in its own process.
"""

import json
import os
import subprocess
import sys

import pytest

from flasher.cli.main import main as tsuf
from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.locked import LockedBench, station_keys
from tests.support.packages import make_ota_package, make_package


@pytest.fixture(params=["tcp", "usb"])
def bench(request, tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TSUF_STATION", "bench-9")
    monkeypatch.delenv("TSUF_BACKEND", raising=False)
    running = LockedBench(tmp_path, request.param)
    yield running
    running.stop()


def _update(bench, package, *extra):
    return tsuf(["-s", bench.address, "update", str(package), "--trust-store", str(bench.keys.trust_store.folder),
                 *extra])


def test_update_sideloads_and_the_report_names_the_path(bench, capsys):
    assert _update(bench, bench.ota(), "--json") == 0
    out, err = capsys.readouterr()
    [report] = json.loads(out)
    assert report["result"] == "SUCCESS" and report["path"] == "sideload"
    assert report["address"] == bench.address and report["to_build"] == "B130"
    assert bench.var("build") == "B130"
    assert tsuf(["history", "--json"]) == 0
    assert [r["path"] for r in json.loads(capsys.readouterr().out)] == ["sideload"]


def test_a_fastboot_package_is_refused_in_plain_words(bench, capsys):
    assert _update(bench, make_package(bench.tmp_path, bench.keys)) == 1
    out = capsys.readouterr().out
    assert "needs_unlock" in out
    assert "can only be installed on an unlocked one" in out and "manufacturer's signed update" in out
    assert bench.var("build") == "B120"


def test_update_a_locked_handset_of_tsuf_emulator(tmp_path):
    keyring = station_keys(tmp_path)
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(oem_public_key=keyring.oem_public_pem),
                               locked=True, adb=True)
    env = {**os.environ, "TSUF_HOME": str(tmp_path / "home")}
    env.pop("TSUF_BACKEND", None)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "flasher.cli.main", "-s", emulator.address, "update",
             str(make_ota_package(tmp_path, keyring)), "--trust-store", str(keyring.trust_store.folder), "--json"],
            capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr
        [report] = json.loads(result.stdout)
        assert (report["result"], report["path"], report["to_build"]) == ("SUCCESS", "sideload", "B130")
        assert "sideloading tcp:" in result.stderr and "installing" in result.stderr
    finally:
        emulator.stop()
