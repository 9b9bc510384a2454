"""The hostile-device matrix on every link: each misbehaviour ends in its named error, in time."""

import time

import pytest

from flasher.fastboot import FastbootDevice, Timeouts
from flasher.history.store import HistoryStore
from flasher.protocol.errors import CommandFailed, MalformedResponse, ResponseTooLong
from flasher.transport.errors import LinkTimeout
from flasher.update.journal import Journal
from flasher.update.session import Options, Station
from flasher.update.updater import Updater
from flasher.virtual.serial_server import HandsetSerialServer
from flasher.virtual.udp_server import HandsetUdpServer
from tests.support.handsets import RunningHandset, UsbHandsets
from tests.support.packages import make_keys, make_package

LINKS = ("tcp", "udp", "usb", "serial")
QUICK = Timeouts(connect=5, response=0.5, command=1.5, long_command=1.5)


@pytest.fixture(params=LINKS)
def linked(request, tmp_path):
    """(handset, address) on one link."""
    link = request.param
    if link == "usb":
        usb_handsets = UsbHandsets(tmp_path / "usb")
        yield usb_handsets.handset, usb_handsets.address
        usb_handsets.stop()
        return
    running = RunningHandset(tmp_path / "handset")
    server = {"udp": HandsetUdpServer, "serial": HandsetSerialServer}.get(link)
    extra = server(running.handset).start() if server else None
    yield running.handset, extra.address if extra else running.address
    if extra:
        extra.stop()
    running.stop()


def test_oversized_response(linked):
    handset, address = linked
    handset.faults.garbage_for["getvar:product"] = b"OKAY" + b"x" * 1000
    with FastbootDevice.open(address, timeouts=QUICK) as device:
        with pytest.raises(ResponseTooLong):
            device.getvar("product")


def test_malformed_response(linked):
    handset, address = linked
    handset.faults.garbage_for["getvar:product"] = b"HELO"
    with FastbootDevice.open(address, timeouts=QUICK) as device:
        with pytest.raises(MalformedResponse):
            device.getvar("product")


def test_a_lying_max_download_size_is_refused_by_name(linked, tmp_path):
    handset, address = linked
    handset.faults.max_download_claim = 64 << 20  # it really takes 1 MiB
    image = tmp_path / "system.img"
    image.write_bytes(bytes(range(256)) * (3 << 12))
    with FastbootDevice.open(address) as device:
        with pytest.raises(CommandFailed, match="too large"):
            device.flash("system_a", image)


def test_a_device_that_disappears_forever(linked):
    handset, address = linked
    handset.faults.stall_commands["getvar:product"] = 3600
    with FastbootDevice.open(address, timeouts=QUICK) as device:
        started = time.monotonic()
        with pytest.raises(LinkTimeout):
            device.getvar("product")
        assert time.monotonic() - started < QUICK.command + 2


def test_a_device_that_claims_success_but_wrote_nothing(linked, tmp_path):
    handset, address = linked
    handset.faults.discard_flash.add("system_b")
    keys = make_keys(tmp_path)
    station = Station("bench", HistoryStore(tmp_path / "h.sqlite"), tmp_path / "logs", Journal(tmp_path / "j"))
    with Updater(make_package(tmp_path, keys), keys.trust_store, station) as updater:
        (report,) = updater.update([address], options=Options(return_timeout=20))
    assert report.result == "VERIFY_FAILED"
    assert handset.meta.active == "a"
