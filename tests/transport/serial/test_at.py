"""AT identification against the virtual handset's modem port, and against ports that are not handsets."""

import os
import threading
import time
import tty

import pytest

from flasher.transport.errors import AtCommandFailed
from flasher.transport.serial import at
from flasher.transport.serial.transport import open_port
from flasher.virtual.handset import Handset
from flasher.virtual.serial_server import HandsetSerialServer, imei_for
from tests.support.handsets import FAST_TIMING, small_profile


@pytest.fixture
def server(tmp_path):
    handset = Handset(small_profile(), tmp_path / "handset", timing=FAST_TIMING)
    server = HandsetSerialServer(handset).start()
    yield server
    server.stop()


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_identification_reads_the_profile(server):
    with open_port(server.path) as port:
        identity = at.identify(port)
    profile = server.handset.profile
    assert identity == at.AtIdentity(manufacturer="ZTE", model=profile.product, revision=profile.version_baseband,
                                     imei=imei_for(profile.serialno), serialno=profile.serialno)
    assert len(identity.imei) == 15 and identity.imei.isdigit()
    assert os.readlink(server.handset.root / "serial") == server.path


def test_the_imei_is_stable_and_luhn_valid():
    imei = imei_for("VH000001")
    assert imei == imei_for("VH000001") != imei_for("VH000002")
    digits = [int(c) for c in reversed(imei)]
    assert sum(d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d) for i, d in enumerate(digits)) % 10 == 0


def test_unknown_commands_answer_error_and_a_vendor_without_a_download_command_is_refused(server):
    with open_port(server.path) as port:
        assert at._command(port, "AT+NOSUCH", time.monotonic() + 1, at._Budget(1024)) is None
        with pytest.raises(AtCommandFailed, match="no download-mode command"):
            at.reboot_to_download(port, at.AtIdentity("Acme", None, None, None, None))
        with pytest.raises(AtCommandFailed, match="did not accept"):
            at.reboot_to_download(port, command="AT+NOSUCH")
    assert server.mode == "at"


def test_the_vendor_command_switches_to_download_mode(server):
    with open_port(server.path) as port:
        at.reboot_to_download(port, at.identify(port))
    deadline = time.monotonic() + 2
    while server.mode != "download" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.mode == "download"


def test_a_silent_port_is_not_a_handset(pty_pair):
    _master, path = pty_pair
    with open_port(path) as port:
        started = time.monotonic()
        assert at.identify(port) is None
        assert time.monotonic() - started < at.IDENTIFY_DEADLINE + 1.0


def test_a_port_spewing_garbage_is_not_a_handset(pty_pair):
    master, path = pty_pair
    stop = threading.Event()

    def spew():
        os.set_blocking(master, False)
        noise = (b"\r\nGARBAGE \xff\x00 OKAY? no\r\n" + os.urandom(200)) * 4
        while not stop.is_set():
            try:
                os.write(master, noise)
            except BlockingIOError:
                time.sleep(0.001)
    thread = threading.Thread(target=spew, daemon=True)
    thread.start()
    try:
        with open_port(path) as port:
            started = time.monotonic()
            assert at.identify(port) is None
            assert time.monotonic() - started < at.IDENTIFY_DEADLINE + 1.0
    finally:
        stop.set()
        thread.join(2)
