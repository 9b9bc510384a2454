"""The payload's signatures and patches are those the standard tools make and read."""

import hashlib
import subprocess

from cryptography.hazmat.primitives import serialization

from flasher.payload.reader import read_payload
from flasher.payload.verify import hash_payload
from tests.payload import generator
from tests.payload.conftest import changed, firmware_image
from tests.support.tools import requires_tool


@requires_tool("openssl", "openssl")
def test_openssl_verifies_both_signatures_against_the_otacert(tmp_path, full_ota, oem_key):
    """openssl checks what TSUF checks: RSA PKCS#1 v1.5 over the SHA-256 digest update_engine signs."""
    (tmp_path / "otacert.pem").write_bytes(generator.certificate_pem(oem_key))
    payload = read_payload(full_ota)
    digests = {"metadata": hashlib.sha256(payload.metadata).digest(),
               "payload": hash_payload(payload).signed_sha256}
    signatures = {"metadata": payload.metadata_signatures[0], "payload": payload.payload_signatures[0]}
    for name, digest in digests.items():
        (tmp_path / f"{name}.digest").write_bytes(digest)
        (tmp_path / f"{name}.sig").write_bytes(signatures[name])
        result = subprocess.run(["openssl", "pkeyutl", "-verify", "-certin", "-inkey", tmp_path / "otacert.pem",
                                 "-pkeyopt", "digest:sha256", "-in", tmp_path / f"{name}.digest",
                                 "-sigfile", tmp_path / f"{name}.sig"], capture_output=True, text=True)
        assert result.returncode == 0 and "Signature Verified Successfully" in result.stdout, result.stderr


@requires_tool("openssl", "openssl")
def test_a_payload_signed_by_openssl_verifies(tmp_path, tsuf, oem_key, trusted_store, images, monkeypatch):
    """The signer can be a build server's openssl: TSUF accepts what it makes from the same digests."""
    key_path = tmp_path / "key.pem"
    key_path.write_bytes(oem_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))

    def openssl_sign(_key, digest):
        (tmp_path / "digest").write_bytes(digest)
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key_path, "-pkeyopt", "digest:sha256",
                               "-in", tmp_path / "digest"], capture_output=True, check=True).stdout

    payload = generator.Payload()
    payload.add_full("boot", images["boot"])
    monkeypatch.setattr(generator, "sign_digest", openssl_sign)
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties)
    code, out, err = tsuf("payload", "inspect", ota, "--trust-store", trusted_store)
    assert code == 0 and "signature: verified" in out, err


@requires_tool("bspatch", "bsdiff")
def test_bspatch_applies_a_source_bsdiff_blob(tmp_path, oem_key):
    """A SOURCE_BSDIFF operation's data is a standard BSDIFF40 patch: Debian's bspatch makes the same target."""
    old = firmware_image(21, 16)
    new = changed(old, 22)
    payload = generator.Payload(minor_version=6)
    payload.add_incremental("system", old, new, diff="bsdiff40", chunk_blocks=16)
    payload.write(tmp_path / "payload.bin", oem_key)
    read = read_payload(tmp_path / "payload.bin")
    (op,) = read.manifest.partitions[0].operations
    assert op.name == "SOURCE_BSDIFF"
    (tmp_path / "patch").write_bytes(b"".join(read.blob(op.data_offset, op.data_length, "patch")))
    (tmp_path / "old").write_bytes(old)
    subprocess.run(["bspatch", tmp_path / "old", tmp_path / "new", tmp_path / "patch"], check=True)
    assert (tmp_path / "new").read_bytes() == new
