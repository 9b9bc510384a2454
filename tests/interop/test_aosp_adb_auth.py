"""The stock ADB client (Debian's `adb`) and TSUF's ADB authentication, both ways: stock adb
is authorized by the virtual phone's adbd after its user allows the key, and TSUF signs
with a key stock adb made, which a phone that trusts stock adb accepts."""

import pytest

from flasher.adb import auth
from flasher.adb.client import ANDROID
from flasher.adb.errors import Unauthorized
from flasher.adb.host_key import load_key, station_key
from flasher.discovery.waiting import wait_for_adb
from flasher.virtual.adb_server import serve_pair
from flasher.virtual.handset import Handset, Mode
from flasher.virtual.usb_debugging import Debugging
from tests.support.handsets import FAST_TIMING, small_profile
from tests.support.tools import requires_tool

pytestmark = requires_tool("adb", "adb")


@pytest.fixture
def phone(tmp_path):
    """A phone in Android whose user has not yet answered any key prompt."""
    handset = Handset(small_profile(family="qualcomm"), tmp_path / "phone", timing=FAST_TIMING,
                      usb_debugging=Debugging.ASK)
    fastboot, adb = serve_pair(handset)
    fastboot.start()
    adb.start()
    handset._begin_reboot(Mode.ANDROID)
    assert handset.wait_for_mode(Mode.ANDROID, 10)
    yield handset, adb.address.removeprefix("tcp:")
    adb.stop()
    fastboot.stop()
    handset.shutdown()


def _stock_key_folder(stock_adb) -> str:
    return stock_adb.env["HOME"] + "/.android"


def test_stock_adb_is_unauthorized_until_the_user_allows_its_key_then_reads_properties(phone, stock_adb):
    handset, serial = phone
    stock_adb("connect", serial)
    devices = stock_adb("devices").stdout
    assert f"{serial}\tunauthorized" in devices, devices
    handset.usb_debugging.allow_waiting()  # the user taps "Allow"
    assert stock_adb("-s", serial, "wait-for-device", timeout=20).returncode == 0
    fingerprint = stock_adb("-s", serial, "shell", "getprop", "ro.build.fingerprint").stdout.strip()
    assert fingerprint == f"TSUF/{handset.profile.product}/{handset.profile.product}:14/none/none:user/release-keys"
    assert stock_adb("-s", serial, "shell", "getprop", "ro.serialno").stdout.strip() == handset.serialno
    # The allowed key is the one stock adb keeps in ~/.android/adbkey.pub.
    with open(_stock_key_folder(stock_adb) + "/adbkey.pub", "rb") as public:
        assert handset.usb_debugging.is_trusted(public.read())
    assert stock_adb("-s", serial, "reboot", "bootloader").returncode == 0
    assert handset.wait_for_mode(Mode.BOOTLOADER, 10)


def test_tsuf_uses_the_key_stock_adb_made_and_a_phone_that_trusts_stock_adb_trusts_tsuf(
        phone, stock_adb, tmp_path, monkeypatch):
    handset, serial = phone
    assert stock_adb("start-server").returncode == 0  # makes ~/.android/adbkey and adbkey.pub
    folder = _stock_key_folder(stock_adb)
    with open(folder + "/adbkey.pub", "rb") as public:
        stock_line = public.read()
    stock_key = load_key(tmp_path / "home" / ".android" / "adbkey")
    # Our encoding of stock adb's key is the line stock adb wrote.
    assert auth.encode_public_key(stock_key.private_key.public_key()) == stock_line.split(b" ")[0]
    monkeypatch.setenv("ANDROID_USER_HOME", folder)
    key = station_key(tmp_path / "tsuf-data")
    assert key.path == stock_key.path and not (tmp_path / "tsuf-data").exists()
    with pytest.raises(Unauthorized, match="USB debugging"):  # not yet trusted: the phone asks
        wait_for_adb(f"tcp:{serial}", ANDROID, timeout=1.5, key=key).close()
    handset.usb_debugging.allow_waiting()
    with wait_for_adb(f"tcp:{serial}", ANDROID, timeout=10, key=key) as device:
        assert device.getprop("ro.serialno") == handset.serialno
    # Stock adb now finds the phone authorized with no new prompt: the same key.
    stock_adb("connect", serial)
    assert stock_adb("-s", serial, "wait-for-device", timeout=20).returncode == 0
    assert stock_adb("-s", serial, "shell", "getprop", "sys.boot_completed").stdout.strip() == "1"
