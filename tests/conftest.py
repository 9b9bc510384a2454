import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs a few hundred inputs per property; bench/fuzz.py runs the same tests with TSUF_FUZZ=full.
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("full", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("TSUF_FUZZ", "ci"))

from tests.support.handsets import EmulatorProcess, RunningHandset, UsbHandsets, small_profile


@pytest.fixture
def running_handset(tmp_path):
    running = RunningHandset(tmp_path / "handset")
    yield running
    running.stop()


@pytest.fixture
def emulator_process(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile())
    yield emulator
    emulator.stop()


@pytest.fixture
def usb_handsets(tmp_path):
    handsets = UsbHandsets(tmp_path / "usb-handsets", count=2)
    yield handsets
    handsets.stop()


@pytest.fixture(autouse=True)
def _no_user_adb_key(tmp_path_factory, monkeypatch):
    """Sessions and ADB clients never read or make the user's own ~/.android/adbkey."""
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path_factory.getbasetemp() / "android-user-home"))
