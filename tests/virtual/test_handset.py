"""The virtual handset over real TCP, driven by TSUF's own host side."""

import io
import os
import socket

import pytest

from flasher import sparse
from flasher.fastboot import FastbootDevice, Timeouts
from flasher.discovery.waiting import wait_for_fastboot
from flasher.protocol.errors import CommandFailed
from flasher.transport.errors import LinkClosed, LinkTimeout
from flasher.virtual.emulator import Emulator
from flasher.virtual.handset import Handset, Mode, Timing
from flasher.virtual.profile import MiB
from tests.support.handsets import FAST_TIMING, MAX_DOWNLOAD, RunningHandset, small_profile


def _device(running, **timeouts) -> FastbootDevice:
    return FastbootDevice.open(running.address, timeouts=Timeouts(**timeouts))


def _image(tmp_path, name, size, seed=0):
    data = bytes(size // 2) + os.urandom(size // 4) + bytes([seed]) * (size - size // 2 - size // 4)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def test_standard_variables_in_the_formats_clients_expect(running_handset):
    with _device(running_handset) as device:
        assert device.getvar("version") == "0.4"
        assert device.getvar("current-slot") == "a"
        assert device.getvar("slot-count") == "2"
        assert device.getvar("max-download-size") == f"0x{MAX_DOWNLOAD:x}"
        assert device.getvar("partition-size:boot_a") == "0x200000"
        assert device.getvar("partition-size:boot") == "0x200000"
        assert device.getvar("has-slot:boot") == "yes"
        assert device.getvar("has-slot:misc") == "no"
        assert device.getvar("partition-type:system_b") == "raw"
        assert device.getvar("serialno") == "VH000001"
        assert device.getvar("is-userspace") == "no"
        with pytest.raises(CommandFailed):
            device.getvar("no-such-variable")


def test_getvar_all_lists_every_partition_and_slot(running_handset):
    with _device(running_handset) as device:
        values = device.getvar_all()
    for stem in ("boot_a", "boot_b", "system_a", "system_b", "misc", "userdata"):
        assert f"partition-size:{stem}" in values
    assert values["slot-successful:a"] == "yes"
    assert values["product"] == "tsuf_zte_ab"


def test_raw_flash_is_byte_identical(running_handset, tmp_path):
    path, data = _image(tmp_path, "boot.img", 2 * MiB)
    with _device(running_handset) as device:
        device.flash("boot_b", path)
    assert running_handset.partition("boot_b") == data
    assert running_handset.partition("boot_a") == bytes(2 * MiB)


def test_image_larger_than_max_download_goes_in_pieces(running_handset, tmp_path):
    data = os.urandom(6 * MiB)
    path = tmp_path / "system.img"
    path.write_bytes(data)
    with _device(running_handset) as device:
        pieces = device.flash("system_a", path)
    assert pieces >= 3
    assert running_handset.partition("system_a") == data


def test_sparse_image_expanding_past_the_partition_is_refused_and_nothing_written(running_handset, tmp_path):
    path = tmp_path / "big.img"
    path.write_bytes(b"\x01" * (8 * MiB))  # FILL chunks: a small sparse file, a big image
    simg = tmp_path / "big.simg"
    with open(simg, "wb") as out:
        sparse.write_sparse(path, out)
    with _device(running_handset) as device:
        device.download(simg.stat().st_size, [simg.read_bytes()])
        with pytest.raises(CommandFailed, match="partition holds"):
            device.command("flash:system_b")
    assert running_handset.partition("system_b") == bytes(6 * MiB)


def test_raw_download_larger_than_the_partition_is_refused(running_handset):
    with _device(running_handset) as device:
        device.download(MAX_DOWNLOAD, [bytes(MAX_DOWNLOAD)])
        with pytest.raises(CommandFailed, match="partition holds"):
            device.command("flash:vbmeta_a")


def test_download_beyond_max_download_size_is_refused(running_handset):
    with _device(running_handset) as device:
        with pytest.raises(CommandFailed, match="too large"):
            device.download(MAX_DOWNLOAD + 1, [bytes(MAX_DOWNLOAD + 1)])


def test_malformed_sparse_image_is_refused_before_writing(running_handset, tmp_path):
    path, _ = _image(tmp_path, "boot.img", 1 * MiB)
    good = tmp_path / "boot.simg"
    with open(good, "wb") as out:
        sparse.write_sparse(path, out)
    broken = bytearray(good.read_bytes())
    broken[-12 * 1024:] = b""  # cut into the last raw chunk
    with _device(running_handset) as device:
        device.download(len(broken), [bytes(broken)])
        with pytest.raises(CommandFailed):
            device.command("flash:boot_a")
    assert running_handset.partition("boot_a") == bytes(2 * MiB)


def test_erase_zeroes_the_partition(running_handset, tmp_path):
    path, _ = _image(tmp_path, "boot.img", 2 * MiB)
    with _device(running_handset) as device:
        device.flash("boot_a", path)
        device.erase("boot_a")
    assert running_handset.partition("boot_a") == bytes(2 * MiB)


def test_fetch_reads_ranges_and_refuses_past_the_end(running_handset, tmp_path):
    path, data = _image(tmp_path, "system.img", 6 * MiB)
    with _device(running_handset) as device:
        device.flash("system_a", path)
        whole, part = io.BytesIO(), io.BytesIO()
        device.fetch("system_a", whole)
        device.fetch("system_a", part, offset=4096, size=8192)
        with pytest.raises(CommandFailed, match="past the end"):
            device.command("fetch:system_a:0x00500000:0x00200000")
    assert whole.getvalue() == data
    assert part.getvalue() == data[4096:4096 + 8192]


def test_switching_slots_survives_the_reboot(running_handset):
    with _device(running_handset) as device:
        device.set_active("b")
        assert device.getvar("slot-successful:b") == "no"
        device.reboot()
    with wait_for_fastboot(running_handset.address, timeout=10, serialno="VH000001") as device:
        assert device.current_slot() == "b"
        assert device.getvar("slot-successful:b") == "yes"


def test_a_slot_that_does_not_boot_falls_back_with_the_reason(running_handset):
    running_handset.handset.faults.boot_fails.add("b")
    with _device(running_handset) as device:
        device.set_active("b")
        device.reboot()
    with wait_for_fastboot(running_handset.address, timeout=10) as device:
        assert device.current_slot() == "a"
        assert device.getvar("slot-unbootable:b") == "yes"
    assert any("falling back to slot a" in event for event in running_handset.handset.boot_log)


def test_reboot_bootloader_keeps_the_slot_and_comes_back(tmp_path):
    # A reboot long enough that a loaded machine still sees the handset mid-reboot.
    running = RunningHandset(tmp_path / "handset", timing=Timing(reboot=2.0, boot=0.05, android=0.15))
    try:
        with _device(running) as device:
            device.reboot("bootloader")
        assert running.handset.mode is Mode.REBOOTING
        with wait_for_fastboot(running.address, timeout=10) as device:
            assert device.current_slot() == "a"
    finally:
        running.stop()


def test_reboot_fastboot_enters_userspace_fastboot(running_handset):
    with _device(running_handset) as device:
        device.reboot("fastboot")
    with wait_for_fastboot(running_handset.address, timeout=10) as device:
        assert device.getvar("is-userspace") == "yes"


def test_link_drop_mid_download_leaves_the_partition_alone(running_handset, tmp_path):
    path, _ = _image(tmp_path, "boot.img", 1 * MiB)
    running_handset.handset.faults.drop_after_bytes = 100_000
    with _device(running_handset) as device:
        with pytest.raises(LinkClosed):
            device.flash("boot_a", path)
    with _device(running_handset) as device:
        assert device.getvar("current-slot") == "a"
    assert running_handset.partition("boot_a") == bytes(2 * MiB)


def test_injected_failure_and_stall(running_handset, tmp_path):
    running_handset.handset.faults.fail_commands["flash:system"] = "flash write failure"
    running_handset.handset.faults.stall_commands["erase:"] = 1.0
    path, _ = _image(tmp_path, "system.img", 1 * MiB)
    with _device(running_handset, response=0.3, command=0.6, long_command=0.6) as device:
        with pytest.raises(CommandFailed, match="flash write failure"):
            device.flash("system_a", path)
        with pytest.raises(LinkTimeout):
            device.erase("misc")


def test_unsupported_commands_fail_cleanly_and_the_link_stays_usable(running_handset):
    with _device(running_handset) as device:
        with pytest.raises(CommandFailed, match="not supported"):
            device.command("oem device-info")
        with pytest.raises(CommandFailed, match="unknown command"):
            device.command("frobnicate")
        with pytest.raises(CommandFailed):
            device.command("flash:nosuchpartition")
        assert device.getvar("version") == "0.4"


def test_an_offline_handset_closes_connections_before_the_handshake(running_handset):
    running_handset.handset.mode = Mode.ANDROID
    with socket.create_connection((running_handset.server.host, running_handset.server.port), timeout=2) as sock:
        try:
            sock.sendall(b"FB01")
            answer = sock.recv(4)
        except ConnectionResetError:
            answer = b""
        assert answer == b""


def test_slot_metadata_persists_across_restarts(tmp_path):
    root = tmp_path / "h"
    first = Handset(small_profile(), root, timing=FAST_TIMING)
    from flasher.virtual import slots
    first._save(slots.set_active(first.meta, "b", 7))
    again = Handset(small_profile(), root, timing=FAST_TIMING)
    assert again.meta.active == "b"


def test_several_handsets_on_consecutive_ports_with_their_own_storage(tmp_path, unused_port_block):
    with Emulator(tmp_path / "h", count=3, base_port=unused_port_block, profile_for=small_profile,
                  timing=FAST_TIMING) as emulator:
        ports = [int(address.rsplit(":", 1)[1]) for address in emulator.addresses]
        assert ports == [unused_port_block, unused_port_block + 1, unused_port_block + 2]
        serials = []
        for address in emulator.addresses:
            with FastbootDevice.open(address) as device:
                serials.append(device.getvar("serialno"))
        assert serials == ["VH000001", "VH000002", "VH000003"]
        assert len({handset.root for handset in emulator.handsets}) == 3


@pytest.fixture
def unused_port_block():
    for _ in range(50):
        probe = socket.create_server(("127.0.0.1", 0))
        base = probe.getsockname()[1]
        probe.close()
        try:
            held = [socket.create_server(("127.0.0.1", base + i)) for i in range(1, 3)]
        except OSError:
            continue
        for sock in held:
            sock.close()
        return base
    pytest.fail("no block of three free ports")


def test_each_flash_needs_a_fresh_download(running_handset, tmp_path):
    path, _ = _image(tmp_path, "vbmeta.img", 64 * 1024)
    with _device(running_handset) as device:
        device.flash("vbmeta_a", path)
        with pytest.raises(CommandFailed, match="no image downloaded"):
            device.command("flash:vbmeta_b")


@pytest.mark.parametrize("argument", ["-1", "0x10", "zz", "", "123456789"])
def test_bad_download_sizes_are_refused_and_the_link_stays_up(running_handset, argument):
    with _device(running_handset) as device:
        with pytest.raises(CommandFailed, match="bad download size"):
            device.command(f"download:{argument}")
        assert device.getvar("version") == "0.4"
