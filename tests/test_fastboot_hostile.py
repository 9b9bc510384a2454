"""A hostile or broken device makes the host fail with a named error, in time, in bounded memory."""

import io
import struct
import time
import tracemalloc

import pytest

from flasher.fastboot import FastbootDevice, Timeouts
from flasher.protocol.errors import (CommandFailed, DataSizeMismatch, MalformedResponse, ResponseTooLong,
                                     TooManyInfo, UnexpectedData)
from flasher.transport.errors import HandshakeFailed, LinkClosed, LinkTimeout
from tests.support.scripted_peer import ScriptedPeer

JUNK = b"x" * 65536
FAST = Timeouts(connect=2, response=0.5, command=1.5, long_command=1.5)


def _open(peer):
    return FastbootDevice.open(peer.address, timeouts=FAST)


def test_oversized_response_is_refused_without_reading_it_all():
    def reply(command, send, conn):
        conn.sendall(struct.pack(">Q", 200 << 20))
        for _ in range(16):
            conn.sendall(JUNK)
    with ScriptedPeer(reply) as peer, _open(peer) as device:
        tracemalloc.start()
        with pytest.raises(ResponseTooLong):
            device.getvar("product")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 1 << 20


def test_data_larger_than_asked_is_refused():
    def reply(command, send, conn):
        send(b"FAILunknown" if command.startswith(b"getvar") else b"DATA00100000")
    with ScriptedPeer(reply) as peer, _open(peer) as device:
        with pytest.raises(DataSizeMismatch, match="at most 16"):
            device.fetch("boot_a", io.BytesIO(), size=16)


def test_data_phase_on_getvar_is_refused():
    with ScriptedPeer(lambda c, send, conn: send(b"DATA00000010")) as peer, _open(peer) as device:
        with pytest.raises(UnexpectedData):
            device.getvar("product")


def test_data_overrunning_its_announcement_is_caught():
    def reply(command, send, conn):
        if command.startswith(b"getvar"):
            return send(b"FAILunknown")
        send(b"DATA00000004")
        send(b"abcdEXTRA")
    with ScriptedPeer(reply) as peer, _open(peer) as device:
        with pytest.raises(MalformedResponse):
            device.fetch("boot_a", io.BytesIO(), size=4)


def test_endless_fast_info_is_cut_off():
    def reply(command, send, conn):
        try:
            while True:
                send(b"INFOworking")
        except OSError:
            pass
    # The cap is a count (20,000 lines), not a time: a deadline no machine reaches leaves the count to cut it off.
    patient = Timeouts(connect=2, response=60, command=300, long_command=300)
    with ScriptedPeer(reply) as peer, FastbootDevice.open(peer.address, timeouts=patient) as device:
        with pytest.raises(TooManyInfo, match="more than 20000 INFO lines"):
            device.getvar("product")


def test_endless_slow_info_hits_the_command_deadline():
    def reply(command, send, conn):
        try:
            while True:
                send(b"INFOstill busy")
                time.sleep(0.2)
        except OSError:
            pass
    with ScriptedPeer(reply) as peer, _open(peer) as device:
        started = time.monotonic()
        with pytest.raises(LinkTimeout, match="deadline"):
            device.getvar("product")
        # Each INFO restarts the 0.5 s response timeout, so only the command's deadline can end this
        # (without it the test never ends); a slow machine may notice it late, never early.
        assert time.monotonic() - started >= FAST.command


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00garbage", b"", b"OK"])
def test_garbage_is_malformed(garbage):
    with ScriptedPeer(lambda c, send, conn: send(garbage)) as peer, _open(peer) as device:
        with pytest.raises(MalformedResponse):
            device.getvar("product")


def test_silence_times_out_within_the_response_deadline():
    with ScriptedPeer(lambda c, send, conn: time.sleep(6)) as peer, _open(peer) as device:
        started = time.monotonic()
        with pytest.raises(LinkTimeout):
            device.getvar("product")
        assert time.monotonic() - started < FAST.response + 3  # long before the peer's 6 s silence ends


def test_device_vanishing_mid_command_is_link_closed():
    def reply(command, send, conn):
        conn.close()
    with ScriptedPeer(reply) as peer, _open(peer) as device:
        with pytest.raises(LinkClosed):
            device.getvar("product")


def test_peer_that_is_not_fastboot():
    with ScriptedPeer(lambda *a: None, handshake=b"SSH-") as peer:
        with pytest.raises(HandshakeFailed):
            _open(peer)


def test_fail_becomes_command_failed_with_the_reason():
    with ScriptedPeer(lambda c, send, conn: send(b"FAILremote: locked")) as peer, _open(peer) as device:
        with pytest.raises(CommandFailed, match="remote: locked") as info:
            device.command("erase:system_a")
    assert info.value.reason == "remote: locked"


def test_optional_variables_treat_fail_and_empty_as_absent():
    answers = iter([b"FAILunknown", b"OKAY"])
    with ScriptedPeer(lambda c, send, conn: send(next(answers))) as peer, _open(peer) as device:
        assert device.getvar_optional("battery-voltage") is None
        assert device.getvar_optional("variant") is None
