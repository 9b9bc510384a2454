"""`tsuf update` of a phone (a Qualcomm bootloader, Android after the reboot) run by `tsuf emulator`
in its own process: confirmed through ADB with the station's own key, or, with the phone's
user not answering, a named result that says to allow USB debugging."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.packages import make_keys, make_package


def _update(tmp_path, keyring, address: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TSUF_HOME": str(tmp_path / "home")}
    env.pop("TSUF_BACKEND", None)
    return subprocess.run(
        [sys.executable, "-m", "flasher.cli.main", "-s", address, "update",
         str(make_package(tmp_path, keyring, sizes={"boot": 1 << 20, "system": 2 << 20})),
         "--trust-store", str(keyring.trust_store.folder), "--json", *extra],
        capture_output=True, text=True, timeout=180, env=env)


@pytest.mark.parametrize("adb_keys", ["allow", "ask"])
def test_tsuf_update_confirms_a_phone_through_adb_or_says_to_allow_usb_debugging(tmp_path, adb_keys):
    keyring = make_keys(tmp_path)
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(oem_public_key=keyring.oem_public_pem),
                               family="qualcomm", adb_keys=adb_keys)
    try:
        result = _update(tmp_path, keyring, emulator.address, "--return-timeout", "20" if adb_keys == "allow" else "5")
    finally:
        emulator.stop()
    [report] = json.loads(result.stdout)
    if adb_keys == "allow":
        assert result.returncode == 0, result.stderr
        assert report["result"] == "SUCCESS" and "confirmed through ADB" in report["message"]
        assert set(report["verification"].values()) == {"verified boot: the slot booted with the expected build"}
        assert (tmp_path / "home" / "data" / "adb" / "adbkey").exists()  # the station's own key, made once
    else:
        assert result.returncode == 1
        assert report["result"] == "NOT_AUTHORIZED" and "Allow USB debugging" in report["message"]
        assert "confirming Allow USB debugging on the phone" in result.stderr  # what the operator saw meanwhile
