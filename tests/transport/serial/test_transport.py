"""Opening a serial port: download mode at once, a modem switched to it, or a named refusal."""

import os
import select
import threading
import time
import tty

import pytest

from flasher.transport.errors import HandshakeFailed
from flasher.transport.serial.transport import SerialTransport
from flasher.virtual.handset import Handset
from flasher.virtual.serial_server import HandsetSerialServer
from tests.support.handsets import FAST_TIMING, small_profile


def _read_until(fd: int, marker: bytes, seconds: float) -> bool:
    """Read what the host sent until `marker` shows (the handset's side, before it runs)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        seen = (seen + os.read(fd, 4096))[-4096:]
    return True


def test_a_handset_in_download_mode_slower_than_the_probe_is_still_opened(tmp_path):
    """A busy host, or a slow handset: no answer to the first hello, nor to the modem
    questions that follow; the hello is asked again within the deadline."""
    handset = Handset(small_profile(), tmp_path / "handset", timing=FAST_TIMING)
    server = HandsetSerialServer(handset)
    server.mode = "download"
    modem_asked = []

    def come_up_late():
        modem_asked.append(_read_until(server._master, b"AT", 30))  # the probe has failed by then
        server.start()
    threading.Thread(target=come_up_late, daemon=True).start()
    try:
        with SerialTransport.open(server.path, timeout=30) as link:
            link.write(b"getvar:version", 5)
            assert link.read(64, 5) == b"OKAY0.4"
    finally:
        server.stop()
    assert modem_asked == [True]


@pytest.fixture
def silent_port():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_a_port_where_nothing_answers_is_a_named_refusal(silent_port):
    started = time.monotonic()
    with pytest.raises(HandshakeFailed, match="neither download mode nor a modem answered"):
        SerialTransport.open(silent_port, timeout=2.5)
    assert time.monotonic() - started < 2.5 + 1.5  # within its deadline, not stuck
