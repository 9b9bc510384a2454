"""ADB's RSA authentication: the key format, the signature adbd checks, both ends of the codec's
AUTH exchange, and where the station keeps its key."""

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from flasher.adb import auth, packets
from flasher.adb.client import AdbDevice
from flasher.adb.connection import AdbConnection, Role
from flasher.adb.errors import AdbProtocolError, Unauthorized
from flasher.adb.events import AuthAnswered, AuthRequested, Connected, OpenRequested
from flasher.adb.host_key import HostKeyError, create_key, load_key, station_key
from tests.adb.test_connection import deliver
from tests.support.adb_peer import ScriptedAdbDevice


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_the_public_key_round_trips_through_android_s_format(key):
    blob = auth.encode_public_key(key.public_key())
    assert len(base64.b64decode(blob)) == 524  # 4 + 4 + 256 + 256 + 4: the mincrypt structure
    decoded = auth.decode_public_key(auth.public_key_payload(key.public_key(), "user@host"))
    assert decoded.public_numbers() == key.public_key().public_numbers()


def test_a_signature_verifies_only_with_its_key_and_its_token(key):
    token = auth.new_token()
    signature = auth.sign_token(key, token)
    assert auth.signature_matches(key.public_key(), token, signature)
    assert not auth.signature_matches(key.public_key(), auth.new_token(), signature)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not auth.signature_matches(other.public_key(), token, signature)
    assert not auth.signature_matches(key.public_key(), token, b"\0" * 256)


@pytest.mark.parametrize("payload", [b"", b"not base64!", base64.b64encode(b"\0" * 524),
                                     base64.b64encode(b"x" * 100), b"A" * 5000])
def test_a_hostile_public_key_is_refused(payload):
    with pytest.raises(ValueError):
        auth.decode_public_key(payload)


def test_the_device_asks_for_a_signature_and_opens_only_once_it_authorizes(key):
    host = AdbConnection(Role.HOST, "host::features=")
    device = AdbConnection(Role.DEVICE, "device::features=", authenticate=True)
    host.connect()
    assert isinstance(deliver(host, device)[0], Connected)
    assert deliver(device, host) == []  # no CNXN back: the host must authenticate first
    token = auth.new_token()
    device.challenge(token)
    (request,) = deliver(device, host)
    assert request == AuthRequested("AUTH", token)
    host.answer_token(packets.AUTH_SIGNATURE, auth.sign_token(key, token))
    (answer,) = deliver(host, device)
    assert answer.kind == packets.AUTH_SIGNATURE and auth.signature_matches(key.public_key(), token, answer.data)
    host.answer_token(packets.AUTH_RSAPUBLICKEY, auth.public_key_payload(key.public_key(), "u@h"))
    assert isinstance(deliver(host, device)[0], AuthAnswered)
    device.authorize()
    assert isinstance(deliver(device, host)[0], Connected) and host.online


def test_an_unauthorized_host_s_open_is_dropped(key):
    host = AdbConnection(Role.HOST, "host::features=")
    device = AdbConnection(Role.DEVICE, "device::features=", authenticate=True)
    host.connect()
    deliver(host, device)
    device.receive_data(packets.encode_header(packets.Command.OPEN, 1, 0, b"shell:id\0", with_checksum=True)
                        + b"shell:id\0")
    assert device.next_event() is None and not device.online
    device.authorize()
    host.receive_data(b"".join(device.data_to_send()))
    assert isinstance(host.next_event(), Connected)
    host.open("shell:id")
    assert isinstance(deliver(host, device)[0], OpenRequested)


def test_the_station_makes_its_own_key_owner_only_when_stock_adb_has_none(tmp_path, monkeypatch):
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path / "no-stock"))
    made = station_key(tmp_path / "data")
    assert made.path == tmp_path / "data" / "adb" / "adbkey"
    if os.name == "posix":
        assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(made.path.parent.stat().st_mode) == 0o700
    public = (tmp_path / "data" / "adb" / "adbkey.pub").read_bytes()
    assert public.endswith(b"\n") and auth.decode_public_key(public).public_numbers() == \
        made.private_key.public_key().public_numbers()
    again = station_key(tmp_path / "data")  # the same key next time
    assert again.private_key.private_numbers() == made.private_key.private_numbers()


def test_the_stock_key_is_preferred_and_a_damaged_one_is_a_named_error(tmp_path, monkeypatch):
    stock = create_key(tmp_path / "android" / "adbkey")
    monkeypatch.setenv("ANDROID_USER_HOME", str(tmp_path / "android"))
    assert station_key(tmp_path / "data").path == stock.path
    stock.path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n")
    with pytest.raises(HostKeyError) as raised:
        load_key(stock.path)
    assert raised.value.hint


@pytest.mark.parametrize("token", [b"", b"short", b"t" * 21, b"t" * 4096])
def test_a_daemon_s_token_of_the_wrong_size_is_a_protocol_error_not_a_signature(token, tmp_path):
    def script(device):
        device.event()  # the host's CNXN
        device.raw(packets.encode_header(packets.Command.AUTH, packets.AUTH_TOKEN, 0, token, with_checksum=True)
                   + token)
        device.link.poll(5)
    with ScriptedAdbDevice(script, authenticate=True) as device:
        with pytest.raises(AdbProtocolError, match="token"):
            AdbDevice.open(device.address, timeout=5, key=create_key(tmp_path / "adbkey"))


def test_a_daemon_that_never_answers_the_public_key_leaves_the_host_unauthorized(tmp_path):
    def script(device):
        device.event()
        for _ in range(2):  # the signature is not trusted: a new token, then the key arrives
            device.raw(packets.encode_header(packets.Command.AUTH, packets.AUTH_TOKEN, 0, b"t" * 20,
                                             with_checksum=True) + b"t" * 20)
            device.link.poll(5)
            device.link.poll(5)
    prompts = []
    with ScriptedAdbDevice(script, authenticate=True) as device:
        with pytest.raises(Unauthorized):
            AdbDevice.open(device.address, timeout=2, key=create_key(tmp_path / "adbkey"), approval_timeout=0.5,
                           on_prompt=lambda: prompts.append(True))
    assert prompts == [True]
