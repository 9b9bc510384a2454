"""A host that is done with the serial port frees the handset for its other links."""

from flasher.fastboot import FastbootDevice, Timeouts
from flasher.virtual import serial_server
from flasher.virtual.serial_server import HandsetSerialServer
from tests.support.handsets import RunningHandset


def test_after_a_serial_session_the_handset_answers_on_tcp(tmp_path, monkeypatch):
    monkeypatch.setattr(serial_server, "SERIAL_IDLE", 0.5)
    running = RunningHandset(tmp_path / "handset")
    serial = HandsetSerialServer(running.handset).start()
    try:
        with FastbootDevice.open(serial.address) as device:
            assert device.getvar("serialno") == "VH000001"
        with FastbootDevice.open(running.address, timeouts=Timeouts(response=5, command=5)) as device:
            assert device.getvar("serialno") == "VH000001"
    finally:
        serial.stop()
        running.stop()
