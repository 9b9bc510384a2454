"""Signing keys, images and a runner for `tsuf payload` in this process."""

import hashlib
import os
import random

import pytest

from flasher.cli.main import main
from flasher.package.trust import TrustStore
from tests.payload import generator


@pytest.fixture(scope="session")
def oem_key():
    return generator.rsa_key()


@pytest.fixture(scope="session")
def other_key():
    return generator.rsa_key()


def firmware_image(seed: int, blocks: int) -> bytes:
    """Blocks of code-like bytes, text and zeros, as a boot or vendor image has."""
    rng = random.Random(seed)
    parts = []
    for index in range(blocks):
        kind = index % 5
        if kind == 0:
            parts.append(bytes(4096))
        elif kind == 1:
            parts.append((b"ro.build.fingerprint=tsuf/test:%d\n" % index * 200)[:4096])
        else:
            parts.append(rng.randbytes(4096))
    return b"".join(parts)


def changed(image: bytes, seed: int) -> bytes:
    """The next build of an image: a few edits, some blocks unchanged."""
    rng = random.Random(seed)
    data = bytearray(image)
    for _ in range(3):
        at = rng.randrange(0, len(data) // 2)
        data[at:at + 8] = rng.randbytes(8)
    return bytes(data)


@pytest.fixture
def images():
    return {"boot": firmware_image(1, 300), "vendor": firmware_image(2, 130) + os.urandom(1000) + bytes(3096)}


@pytest.fixture
def trusted_store(tmp_path, oem_key):
    """A trust store holding the test OEM certificate."""
    store = tmp_path / "trust"
    certificate = tmp_path / "otacert.pem"
    certificate.write_bytes(generator.certificate_pem(oem_key))
    TrustStore(store).import_oem_certificate(certificate)
    return store


@pytest.fixture
def full_ota(tmp_path, oem_key, images):
    """A signed full OTA zip of boot and vendor, and the images it holds."""
    payload = generator.Payload()
    for name, image in images.items():
        payload.add_full(name, image)
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    return generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties,
                             generator.certificate_pem(oem_key))


@pytest.fixture
def tsuf(capsys):
    """`tsuf ARGS` in this process: (exit code, stdout, stderr)."""
    def run(*args):
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
