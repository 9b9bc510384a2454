"""`tsuf` as a user runs it, against `tsuf emulator` in another process."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.support.handsets import MAX_DOWNLOAD


def tsuf(*args, check=True, timeout=60):
    result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args],
                            capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_version():
    assert tsuf("--version").stdout.startswith("tsuf ")


def test_getvar_single_and_all_as_json(emulator_process):
    assert tsuf("-s", emulator_process.address, "getvar", "product").stdout.strip() == "product: tsuf_zte_ab"
    values = json.loads(tsuf("-s", emulator_process.address, "--json", "getvar", "all").stdout)
    assert values["current-slot"] == "a"
    assert values["partition-size:system_a"] == "0x600000"


def test_flash_in_pieces_then_fetch_reads_it_back(emulator_process, tmp_path):
    image = tmp_path / "system.img"
    data = os.urandom(3 * MAX_DOWNLOAD) + bytes(3 * MAX_DOWNLOAD)
    image.write_bytes(data)
    result = tsuf("-s", emulator_process.address, "--json", "flash", "system", str(image), "--slot", "other")
    report = json.loads(result.stdout)
    assert report["partition"] == "system_b"
    assert report["pieces"] >= 3
    assert "flash system_b: done" in result.stderr
    assert (emulator_process.folder / "system_b.img").read_bytes() == data
    back = tmp_path / "back.img"
    tsuf("-s", emulator_process.address, "fetch", "system", str(back), "--slot", "b")
    assert back.read_bytes() == data


def test_flash_sparse_image_from_img2simg(emulator_process, tmp_path):
    raw = tmp_path / "boot.img"
    data = os.urandom(1024 * 1024) + b"\x11\x22\x33\x44" * (256 * 1024)
    raw.write_bytes(data)
    simg = tmp_path / "boot.simg"
    subprocess.run(["img2simg", str(raw), str(simg)], check=True)
    tsuf("-s", emulator_process.address, "flash", "boot", str(simg))
    assert (emulator_process.folder / "boot_a.img").read_bytes() == data


def test_erase_set_active_reboot(emulator_process, tmp_path):
    image = tmp_path / "vbmeta.img"
    image.write_bytes(os.urandom(64 * 1024))
    address = emulator_process.address
    tsuf("-s", address, "flash", "vbmeta", str(image))
    tsuf("-s", address, "erase", "vbmeta")
    assert (emulator_process.folder / "vbmeta_a.img").read_bytes() == bytes(64 * 1024)
    tsuf("-s", address, "set-active", "b")
    assert "rebooting to system" in tsuf("-s", address, "reboot").stdout
    for _ in range(50):
        result = tsuf("-s", address, "getvar", "current-slot", check=False)
        if result.returncode == 0:
            break
        time.sleep(0.1)
    assert result.stdout.strip() == "current-slot: b"


def test_a_refused_command_exits_non_zero_with_the_reason(emulator_process, tmp_path):
    image = tmp_path / "huge.img"
    image.write_bytes(os.urandom(8 * 1024 * 1024))
    result = tsuf("-s", emulator_process.address, "flash", "system", str(image), check=False)
    assert result.returncode == 1
    assert "system_a holds 6.0 MiB" in result.stderr
    assert (emulator_process.folder / "system_a.img").read_bytes() == bytes(6 * 1024 * 1024)


def test_unreachable_device_says_what_to_do():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    result = tsuf("-s", f"tcp:127.0.0.1:{port}", "getvar", "all", check=False, timeout=20)
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "fastboot mode" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["getvar", "all"], "-s ADDRESS"),
    (["-s", "bluetooth:x", "getvar", "all"], "not a device address"),
    (["-s", "tcp:127.0.0.1:1", "flash", "boot", "/no/such/file.img"], "no such image file"),
])
def test_usage_errors_are_explained(args, message, monkeypatch):
    monkeypatch.delenv("TSUF_DEVICE", raising=False)
    result = tsuf(*args, check=False, timeout=20)
    assert result.returncode == 1
    assert message in result.stderr


def test_demo_updates_a_handset_on_every_link_and_a_locked_one_through_recovery(tmp_path):
    result = tsuf("demo", "--storage", str(tmp_path / "bench"), timeout=240)
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("VH")]
    assert [row[:5] for row in rows] == [
        [f"VH00000{number}", link, "a->b", "B120->B130", "success"]
        for number, link in enumerate(("tcp", "usb", "udp", "serial", "usb"), start=1)]
    assert [" ".join(row[6:]) for row in rows] == ["running B130 on slot b"] * 4 + [
        "running B130, installed through recovery (sideload over usb)"]
    assert "5 of 5 handset(s) updated" in result.stdout
    plans = [line for line in result.stderr.splitlines() if " -> " in line]  # chosen as update --latest chooses
    assert [line.split(None, 1)[1] for line in plans] == ["B120 -> B130: full 38 MB: no delta from B120"] * 4 + [
        "B120 -> B130: full 38 MB through recovery: the bootloader is locked"]


def test_emulator_on_a_busy_port_says_so():
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        port = holder.getsockname()[1]
        result = tsuf("emulator", "--tcp", str(port), check=False, timeout=20)
    finally:
        holder.close()
    assert result.returncode == 1
    assert "Address already in use" in result.stderr
    assert "--tcp PORT" in result.stderr
