"""`tsuf` over `serial:/dev/pts/N` to the virtual handset's modem port, with line noise and an unplug."""

import os
import threading
import time

import pytest

from flasher.cli.main import main
from flasher.fastboot import FastbootDevice, Timeouts
from flasher.transport.errors import LinkClosed, TransportError
from flasher.virtual.handset import Handset
from flasher.virtual.serial_server import HandsetSerialServer
from tests.support.handsets import FAST_TIMING, MAX_DOWNLOAD, EmulatorProcess, small_profile

MiB = 1 << 20


@pytest.fixture
def server(tmp_path):
    handset = Handset(small_profile(), tmp_path / "handset", timing=FAST_TIMING)
    server = HandsetSerialServer(handset).start()
    yield server
    server.stop()


def test_tsuf_flashes_and_fetches_back_through_line_noise(server, tmp_path, capsys):
    server.handset.faults.line_error_every = 50_000  # about two errors per 100 KB, each way
    image = tmp_path / "system.img"
    data = os.urandom(4 * MiB)  # random: five sparse pieces under the 1 MiB max-download-size
    image.write_bytes(data)
    assert len(data) > 3 * MAX_DOWNLOAD
    assert main(["-s", server.address, "flash", "system", str(image), "--slot", "other"]) == 0
    assert server.handset.storage.path("system_b").read_bytes()[:len(data)] == data
    back = tmp_path / "back.img"
    assert main(["-s", server.address, "fetch", "system", str(back), "--slot", "b"]) == 0
    assert back.read_bytes()[:len(data)] == data
    assert server.noise.errors >= 80  # >= 1 per 100 KB over 8 MiB moved
    assert server.mode == "download"  # still there for the next command; a reboot returns it to AT


def test_a_reboot_returns_the_port_to_at_mode_and_the_next_open_switches_again(server):
    with FastbootDevice.open(server.address) as device:
        device.reboot("bootloader")
    deadline = time.monotonic() + 2
    while server.mode != "at" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.mode == "at"
    with FastbootDevice.open(server.address, timeouts=Timeouts(connect=5)) as device:
        assert device.getvar("serialno") == server.handset.serialno


def test_unplug_mid_transfer_is_a_named_error_and_the_active_slot_is_untouched(server, tmp_path):
    before = server.handset.storage.path("system_a").read_bytes()
    image = tmp_path / "system.img"
    image.write_bytes(os.urandom(4 * MiB))

    def unplug_after_a_piece():
        deadline = time.monotonic() + 30
        while server.bytes_received < 1.5 * MiB and time.monotonic() < deadline:
            time.sleep(0.002)
        server.unplug()
    threading.Thread(target=unplug_after_a_piece, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(LinkClosed) as info:
        with FastbootDevice.open(server.address, timeouts=Timeouts(response=5)) as device:
            device.flash(device.resolve_partition("system", "other"), image)
    assert time.monotonic() - started < 15
    assert isinstance(info.value, TransportError) and info.value.hint
    assert server.handset.meta.active == "a"
    assert server.handset.storage.path("system_a").read_bytes() == before


def test_the_emulator_serves_a_pty_per_handset(tmp_path):
    emulator = EmulatorProcess(tmp_path / "handsets", count=2, profile=small_profile(), serial=True)
    try:
        assert [a.startswith("tcp:") for _, a, _ in emulator.handsets] == [True, True]
        serials = [address for _, address, _ in emulator.serial_handsets]
        assert all(a.startswith("serial:/dev/pts/") for a in serials)
        assert os.readlink(emulator.folder / "serial") == serials[0].removeprefix("serial:")
        with FastbootDevice.open(emulator.serial_address) as device:
            assert device.getvar("serialno") == "VH000001"
    finally:
        emulator.stop()
