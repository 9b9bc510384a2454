"""The host's sideload against a scripted recovery on loopback: well-behaved and hostile."""

import os
import time
import tracemalloc

import pytest

from flasher.adb.client import AdbDevice
from flasher.adb.errors import (BadBlockRequest, PayloadTooLarge, SideloadCancelled, SideloadInterrupted,
                                SideloadRefused, SideloadTimeout, SideloadUnavailable)
from flasher.adb.packets import Command, encode_header
from flasher.adb.sideload import BLOCK_SIZE, block_request, sideload
from tests.support.adb_peer import ScriptedAdbDevice

BLOCKS = 5


@pytest.fixture
def package(tmp_path):
    path = tmp_path / "ota.zip"
    path.write_bytes(os.urandom(BLOCKS * BLOCK_SIZE - 1000))  # the last block is short
    return path


def recovery(order, result=b"DONEDONE", received=None):
    """A script asking for blocks in `order`, then answering `result`."""
    def script(device):
        request = device.next_open()
        size = int(request.service.split(":")[1])
        stream = device.accept(request)
        for block in order:
            device.send(stream, block_request(block))
            length = min(BLOCK_SIZE, size - block * BLOCK_SIZE)
            data = device.receive(stream, length)
            if received is not None:
                received[block] = data
        device.finish(stream, result)
    return script


def run(address, package, **options):
    return sideload(AdbDevice.open(address, timeout=2), package, **options)


def test_blocks_are_served_in_the_order_asked_and_progress_counts_distinct_ones(package):
    received, progress = {}, []
    order = [4, 0, 1, 1, 2, 3]
    with ScriptedAdbDevice(recovery(order, received=received)) as device:
        result = run(device.address, package, progress=lambda done, total: progress.append((done, total)))
    assert device.error is None
    assert device.services == [f"sideload-host:{package.stat().st_size}:65536"]
    content = package.read_bytes()
    assert all(received[block] == content[block * BLOCK_SIZE:(block + 1) * BLOCK_SIZE] for block in range(BLOCKS))
    assert progress == [(1, 5), (2, 5), (3, 5), (3, 5), (4, 5), (5, 5)]
    assert (result.blocks_total, result.blocks_served, result.requests) == (5, 5, 6)
    assert result.bytes_sent == package.stat().st_size + BLOCK_SIZE


def test_failfail_is_a_refusal_with_a_hint(package):
    with ScriptedAdbDevice(recovery([4], result=b"FAILFAIL")) as device:
        with pytest.raises(SideloadRefused, match="not signed for this handset") as caught:
            run(device.address, package)
    assert "OEM key" in caught.value.hint


def test_small_payloads_carry_a_block_in_pieces(package):
    with ScriptedAdbDevice(recovery([0, 4]), max_payload=4096) as device:
        result = run(device.address, package)
    assert device.error is None
    assert result.blocks_served == 2


@pytest.mark.parametrize("request_bytes, why", [(b"00000005", "block 5"), (b"-0000001", "not a block number"),
                                                (b"0000001x", "not a block number")])
def test_a_block_the_package_does_not_have_is_refused(package, request_bytes, why):
    def script(device):
        stream = device.accept(device.next_open())
        device.send(stream, request_bytes)
        device.event()
    with ScriptedAdbDevice(script) as device:
        with pytest.raises(BadBlockRequest, match=why):
            run(device.address, package)


def test_an_oversized_payload_from_the_handset_is_refused_before_it_is_read(package):
    def script(device):
        stream = device.accept(device.next_open())
        header = encode_header(Command.WRTE, stream, 1, b"", with_checksum=False)
        device.raw(header[:12] + (64 << 20).to_bytes(4, "little") + header[16:])
        time.sleep(0.3)
    with ScriptedAdbDevice(script) as device:
        with pytest.raises(PayloadTooLarge):
            run(device.address, package)


def test_a_handset_not_in_sideload_mode_refuses_the_service(package):
    def script(device):
        device.connection.refuse(device.next_open())
        device.event()
    with ScriptedAdbDevice(script, banner="recovery::") as device:
        with pytest.raises(SideloadUnavailable, match="recovery"):
            run(device.address, package)


def test_a_dropped_link_is_an_interruption_to_retry(package):
    def script(device):
        stream = device.accept(device.next_open())
        device.send(stream, block_request(0))
        device.receive(stream, BLOCK_SIZE)
        device.sock.close()  # the cable comes out
    with ScriptedAdbDevice(script) as device:
        with pytest.raises(SideloadInterrupted, match="dropped") as caught:
            run(device.address, package)
    assert not caught.value.served_all
    assert "next attempt starts" in caught.value.hint


def test_a_stream_closed_without_a_result_is_an_interruption(package):
    def script(device):
        stream = device.accept(device.next_open())
        device.connection.close(stream)
        device.event()
    with ScriptedAdbDevice(script) as device:
        with pytest.raises(SideloadInterrupted, match="without a result"):
            run(device.address, package)


def test_a_silent_handset_hits_the_deadline(package):
    def script(device):
        stream = device.accept(device.next_open())
        device.send(stream, block_request(1))
        device.receive(stream, BLOCK_SIZE)
        time.sleep(1.0)
    with ScriptedAdbDevice(script) as device:
        started = time.monotonic()
        with pytest.raises(SideloadTimeout, match="asked for nothing for 0.3 s"):
            run(device.address, package, response_timeout=0.3)
        assert time.monotonic() - started < 0.9


def test_once_every_block_is_served_the_install_deadline_applies(package):
    def script(device):
        request = device.next_open()
        stream = device.accept(request)
        for block in range(BLOCKS):
            device.send(stream, block_request(block))
            device.receive(stream, min(BLOCK_SIZE, package.stat().st_size - block * BLOCK_SIZE))
        time.sleep(0.6)  # installing: longer than the response deadline
        device.finish(stream, b"DONEDONE")
    with ScriptedAdbDevice(script) as device:
        result = run(device.address, package, response_timeout=0.3, install_timeout=5)
    assert result.blocks_served == BLOCKS


def test_cancel_drops_the_link_before_the_next_block(package):
    served = []
    def script(device):
        stream = device.accept(device.next_open())
        for block in range(BLOCKS):
            device.send(stream, block_request(block))
            device.receive(stream, BLOCK_SIZE)
    with ScriptedAdbDevice(script) as device:
        with pytest.raises(SideloadCancelled, match="after 2 of 5"):
            run(device.address, package, progress=lambda done, total: served.append(done),
                cancel=lambda: len(served) >= 2)
    assert isinstance(device.error, Exception)  # its link was dropped while it waited for block 2


def test_the_package_is_never_read_whole(tmp_path):
    big = tmp_path / "big.zip"
    with open(big, "wb") as file:
        file.truncate(64 << 20)  # 64 MiB, sparse: 1024 blocks
    with ScriptedAdbDevice(recovery(range(1024))) as device:
        tracemalloc.start()
        try:
            run(device.address, big)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert device.error is None
    assert peak < 4 << 20, f"peak {peak} bytes for a 64 MiB package"
