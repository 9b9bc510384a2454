"""The host's ADB client against a scripted device on loopback."""

import time

import pytest

from flasher.adb.client import AdbDevice
from flasher.adb.errors import AuthRequired, BadMagic, ServiceRefused
from flasher.adb.packets import AUTH_TOKEN, Command, encode_header
from tests.support.adb_peer import ScriptedAdbDevice


def test_open_reads_the_state_and_product_from_the_cnxn():
    with ScriptedAdbDevice(lambda device: device.event()) as scripted:
        with AdbDevice.open(scripted.address, timeout=2) as device:
            assert (device.state, device.product) == ("sideload", "tsuf_zte_ab")
    assert scripted.error is None


def test_a_daemon_that_wants_authentication_is_refused_by_name():
    def script(device):
        device.link.transport.read(24, 5)  # the host's CNXN header; answer with a token instead
        token = b"t" * 20
        device.raw(encode_header(Command.AUTH, AUTH_TOKEN, 0, token, with_checksum=True) + token)
        time.sleep(0.2)
    with ScriptedAdbDevice(script) as scripted:
        with pytest.raises(AuthRequired, match="authenticate") as caught:
            AdbDevice.open(scripted.address, timeout=2)
    assert "recovery" in caught.value.hint


def test_a_peer_that_does_not_speak_adb_is_refused_by_name():
    def script(device):
        device.raw(b"FB01" + bytes(20))
        time.sleep(0.2)
    with ScriptedAdbDevice(script) as scripted:
        with pytest.raises(BadMagic):
            AdbDevice.open(scripted.address, timeout=2)


def test_reboot_opens_the_reboot_service_with_its_target():
    def script(device):
        request = device.next_open()
        device.connection.close(device.accept(request))
        device.link.flush(5)
    with ScriptedAdbDevice(script) as scripted:
        AdbDevice.open(scripted.address, timeout=2).reboot_to_sideload()
    assert scripted.services == ["reboot:sideload"]
    assert scripted.error is None


def test_a_service_the_device_lacks_is_refused_by_name():
    def script(device):
        device.connection.refuse(device.next_open())
        device.link.flush(5)
        time.sleep(0.2)
    with ScriptedAdbDevice(script) as scripted:
        with AdbDevice.open(scripted.address, timeout=2) as device:
            with pytest.raises(ServiceRefused, match="shell"):
                device.open_stream("shell:getprop", timeout=2)
