import hashlib
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from flasher.package import keys
from flasher.package.errors import KeyFileError

MESSAGE = b'{"build":"B130","product":"P855A01"}'


def _openssl_verify(tmp_path, algorithm: str) -> subprocess.CompletedProcess:
    key = keys.generate_key(algorithm)
    _, public = keys.write_key_pair(key, tmp_path, "oem")
    (tmp_path / "manifest.json").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(key.sign(MESSAGE))
    if algorithm == keys.ED25519:
        command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
                   "-in", str(tmp_path / "manifest.json"), "-sigfile", str(tmp_path / "sig")]
    else:
        command = ["openssl", "dgst", "-sha256", "-verify", str(public), "-signature", str(tmp_path / "sig"),
                   str(tmp_path / "manifest.json")]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_openssl_verifies_a_tsuf_signature(tmp_path, algorithm):
    result = _openssl_verify(tmp_path, algorithm)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verified OK" in result.stdout or "Signature Verified Successfully" in result.stdout


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_openssl_refuses_a_changed_message(tmp_path, algorithm):
    key = keys.generate_key(algorithm)
    keys.write_key_pair(key, tmp_path, "oem")
    signature = key.sign(MESSAGE)
    (tmp_path / "manifest.json").write_bytes(MESSAGE + b" ")
    (tmp_path / "sig").write_bytes(signature)
    if algorithm == keys.ED25519:
        command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "oem.pub.pem"), "-rawin",
                   "-in", str(tmp_path / "manifest.json"), "-sigfile", str(tmp_path / "sig")]
    else:
        command = ["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "oem.pub.pem"), "-signature",
                   str(tmp_path / "sig"), str(tmp_path / "manifest.json")]
    assert subprocess.run(command, capture_output=True, timeout=60).returncode != 0


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_sign_and_verify_round_trip(algorithm):
    key = keys.generate_key(algorithm)
    signature = key.sign(MESSAGE)
    assert keys.verify_signature(key.public_key, signature, MESSAGE)
    assert not keys.verify_signature(key.public_key, signature, MESSAGE + b"x")
    assert not keys.verify_signature(key.public_key, b"\x30\x00" + signature[2:], MESSAGE)


def test_key_id_is_the_truncated_sha256_of_the_spki_der():
    key = keys.generate_key()
    der = key.public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.key_id == hashlib.sha256(der).hexdigest()[:32]


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_key_files_load_back_and_the_private_one_is_private(tmp_path, algorithm):
    key = keys.generate_key(algorithm)
    private, public = keys.write_key_pair(key, tmp_path, "release")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in private.read_bytes() and b"BEGIN PUBLIC KEY" in public.read_bytes()
    assert keys.load_private_key(private).key_id == key.key_id
    assert keys.key_id(keys.read_public_key(public)) == key.key_id
    assert keys.load_private_key(private).algorithm == algorithm


def test_an_existing_key_is_never_overwritten(tmp_path):
    keys.write_key_pair(keys.generate_key(), tmp_path, "release")
    before = (tmp_path / "release.pem").read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        keys.write_key_pair(keys.generate_key(), tmp_path, "release")
    assert (tmp_path / "release.pem").read_bytes() == before


@pytest.mark.parametrize("private_key", [rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP384R1())],
                         ids=["rsa", "p384"])
def test_unsupported_key_types_are_refused(tmp_path, private_key):
    path = tmp_path / "key.pem"
    path.write_bytes(private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    with pytest.raises(KeyFileError, match="unsupported"):
        keys.load_private_key(path)


def test_a_private_key_given_as_public_says_so(tmp_path):
    private, _ = keys.write_key_pair(keys.generate_key(), tmp_path, "release")
    with pytest.raises(KeyFileError) as error:
        keys.read_public_key(private)
    assert ".pub.pem" in error.value.hint


def test_unknown_algorithm_and_missing_file(tmp_path):
    with pytest.raises(KeyFileError, match="unknown algorithm"):
        keys.generate_key("rsa")
    with pytest.raises(KeyFileError, match="cannot read"):
        keys.load_private_key(tmp_path / "nope.pem")
