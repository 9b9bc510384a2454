import pytest

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
