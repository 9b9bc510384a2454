"""`tsuf update FACTORY.zip` as a technician runs it against `tsuf emulator --family android`:
refused by name unless the user says to flash unsigned images, then the phone is updated and
confirmed; what is left out is said."""

import json
import os
import subprocess
import sys

from tests.support.factory import factory_zip
from tests.support.handsets import EmulatorProcess, android_profile
from tests.support.packages import make_keys


def _update(tmp_path, keyring, address: str, factory, *extra: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "TSUF_HOME": str(tmp_path / "home")}
    env.pop("TSUF_BACKEND", None)
    return subprocess.run(
        [sys.executable, "-m", "flasher.cli.main", "-s", address, "update", str(factory),
         "--trust-store", str(keyring.trust_store.folder), "--json", "--return-timeout", "20", *extra],
        capture_output=True, text=True, timeout=180, env=env, input=stdin)


def test_factory_images_are_flashed_only_on_the_users_word(tmp_path):
    keyring = make_keys(tmp_path)
    factory = factory_zip(tmp_path / "image-tsuf.zip", oem_key=keyring.oem, extra={"system_other.img": b"o" * 4096})
    emulator = EmulatorProcess(tmp_path / "handsets", profile=android_profile(oem_public_key=keyring.oem_public_pem),
                               family="android", adb_keys="allow")
    try:
        refused = _update(tmp_path, keyring, emulator.address, factory, stdin="y\n")  # no terminal: no prompt
        flashed = _update(tmp_path, keyring, emulator.address, factory, "--unsigned-factory-images")
    finally:
        emulator.stop()
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "nobody signed" in refused.stderr and "--unsigned-factory-images" in refused.stderr
    assert flashed.returncode == 0, flashed.stderr
    [report] = json.loads(flashed.stdout)
    assert report["result"] == "SUCCESS" and "B130" in report["message"]
    assert "factory images, not signed" in flashed.stderr
    assert "not written: system_other.img: for the other slot" in flashed.stderr
