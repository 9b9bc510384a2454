"""`tsuf devices` and `tsuf doctor` as a user runs them, against `tsuf emulator` over TCP."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.support.handsets import EmulatorProcess, small_profile

from .conftest import free_port


def tsuf(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def two_handsets(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", count=2, profile=small_profile())
    yield emulator
    emulator.stop()


def _targets(tmp_path, emulator, *, as_json=False):
    addresses = [address for _serial, address, _folder in emulator.handsets]
    addresses.append(f"tcp:127.0.0.1:{free_port()}")  # a dead address
    path = tmp_path / ("targets.json" if as_json else "targets")
    path.write_text(json.dumps(addresses) if as_json else "# bench\n" + "\n".join(addresses) + "\n")
    return path


def test_devices_json_lists_the_emulator_handsets(tmp_path, two_handsets):
    result = tsuf("devices", "--json", "--targets", str(_targets(tmp_path, two_handsets, as_json=True)))
    assert result.returncode == 0, result.stderr
    devices = json.loads(result.stdout)
    expected = [{"address": address, "link": "tcp", "mode": "fastboot", "serialno": serial,
                 "product": "tsuf_zte_ab", "vendor": None, "detail": ""}
                for serial, address, _folder in two_handsets.handsets]
    assert sorted(devices, key=lambda d: d["serialno"]) == expected


def test_devices_table_with_targets_from_the_environment(tmp_path, two_handsets):
    result = tsuf("devices", env={"TSUF_TARGETS": str(_targets(tmp_path, two_handsets))})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "LINK", "MODE", "SERIAL", "PRODUCT", "VENDOR"]
    for serial, address, _folder in two_handsets.handsets:
        assert any(line.split()[:4] == [address, "tcp", "fastboot", serial] for line in lines)


def test_devices_with_a_bad_targets_file_is_a_named_error(tmp_path):
    path = tmp_path / "targets"
    path.write_text("usb:ABC\n")
    result = tsuf("devices", "--targets", str(path))
    assert result.returncode == 1
    assert "not a network address" in result.stderr


def test_devices_watch_prints_arrivals_and_departures_until_interrupted(tmp_path, two_handsets):
    process = subprocess.Popen(
        [sys.executable, "-m", "flasher.cli.main", "devices", "--watch", "--targets",
         str(_targets(tmp_path, two_handsets))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        arrivals = [process.stdout.readline().split() for _ in two_handsets.handsets]
        two_handsets.stop()
        departures = [process.stdout.readline().split() for _ in two_handsets.handsets]
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    addresses = {address for _serial, address, _folder in two_handsets.handsets}
    assert {sign for sign, *_ in arrivals} == {"+"} and {words[1] for words in arrivals} == addresses
    assert {sign for sign, *_ in departures} == {"-"} and {words[1] for words in departures} == addresses


def test_doctor_runs_and_explains(tmp_path):
    result = tsuf("doctor")
    assert result.returncode in (0, 1), result.stderr
    lines = result.stdout.splitlines()
    statuses = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert statuses and set(statuses) <= {"OK", "WARN", "FAIL"}
    assert any("libusb" in line for line in lines)
    assert (result.returncode == 1) == ("FAIL" in statuses)


@pytest.fixture
def in_recovery(tmp_path):
    emulator = EmulatorProcess(tmp_path / "recovery", profile=small_profile(), mode="recovery")
    yield emulator
    emulator.stop()


def test_devices_lists_a_handset_in_recovery_given_with_s(in_recovery):
    address = in_recovery.address
    table = tsuf("-s", address, "devices")
    assert table.returncode == 0, table.stderr
    [line] = [line for line in table.stdout.splitlines() if line.startswith(address)]
    assert line.split()[:4] == [address, "tcp", "recovery", "(ADB)"]
    listed = tsuf("-s", address, "devices", "--json")
    assert [(d["address"], d["mode"], d["product"]) for d in json.loads(listed.stdout)] == [
        (address, "recovery", "tsuf_zte_ab")]
    assert json.loads(listed.stdout)[0]["detail"] == f"ADB at {in_recovery.adb_address}"


def test_doctor_says_a_handset_is_in_recovery(in_recovery):
    result = tsuf("-s", in_recovery.address, "doctor")
    assert f"{in_recovery.address} [recovery (ADB)]" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if line.startswith("WARN  recovery")]
    assert in_recovery.address in line
    assert "Reboot to bootloader" in result.stdout


def test_devices_with_s_refuses_a_bad_network_address():
    result = tsuf("-s", "tcp:127.0.0.1:notaport", "devices")
    assert result.returncode == 1
    assert "-s" in result.stderr
