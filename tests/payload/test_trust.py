"""Which OEM certificates a payload's signature is checked with: the trust store's, or the zip's own on request."""

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from flasher.package.errors import KeyFileError, TrustStoreError
from flasher.package.trust import TrustStore
from tests.payload import generator


def test_trusting_a_certificate_lets_its_payloads_extract(tsuf, tmp_path, oem_key, full_ota, images):
    (tmp_path / "otacert.pem").write_bytes(generator.certificate_pem(oem_key))
    store = tmp_path / "store"
    code, out, err = tsuf("payload", "trust", tmp_path / "otacert.pem", "--trust-store", store)
    assert code == 0 and "trusted OEM certificate" in out, err
    code, out, err = tsuf("payload", "extract", full_ota, "boot", "--out", tmp_path / "out", "--trust-store", store)
    assert code == 0, err
    assert (tmp_path / "out" / "boot.img").read_bytes() == images["boot"]


def test_listing_and_removing_certificates(tsuf, tmp_path, trusted_store, full_ota):
    code, out, _ = tsuf("payload", "certificates", "--trust-store", trusted_store)
    (key_id,) = [line.split()[0] for line in out.splitlines()]
    assert code == 0
    code, out, _ = tsuf("payload", "untrust", key_id, "--trust-store", trusted_store)
    assert code == 0 and "no longer trusted" in out
    code, out, _ = tsuf("payload", "certificates", "--trust-store", trusted_store)
    assert "no OEM certificate is trusted" in out
    code, out, _ = tsuf("payload", "inspect", full_ota, "--trust-store", trusted_store)
    assert "signature: not available" in out
    code, _, err = tsuf("payload", "untrust", key_id, "--trust-store", trusted_store)
    assert code == 1 and "no OEM certificate" in err and "Traceback" not in err


def test_oem_certificates_do_not_sign_packages(tmp_path, oem_key, trusted_store):
    """An OTA certificate sits beside the package keys, not among them: it admits no package or catalog."""
    store = TrustStore(trusted_store)
    assert store.keys() == []
    assert len(store.oem_certificates()) == 1


def test_a_bare_public_key_is_accepted(tmp_path, oem_key):
    path = tmp_path / "key.pub.pem"
    path.write_bytes(oem_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    assert TrustStore(tmp_path / "store").import_oem_certificate(path).key_id


def test_a_weak_rsa_key_is_refused(tsuf, tmp_path):
    (tmp_path / "weak.pem").write_bytes(generator.certificate_pem(generator.rsa_key(1024)))
    code, _, err = tsuf("payload", "trust", tmp_path / "weak.pem", "--trust-store", tmp_path / "store")
    assert code == 1 and "2048 bits" in err and "Traceback" not in err
    with pytest.raises(KeyFileError):
        TrustStore(tmp_path / "store").import_oem_certificate(tmp_path / "weak.pem")


def test_not_a_certificate_is_refused(tsuf, tmp_path):
    (tmp_path / "junk.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    code, _, err = tsuf("payload", "trust", tmp_path / "junk.pem", "--trust-store", tmp_path / "store")
    assert code == 1 and "not a PEM certificate" in err


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_certificate_others_can_replace_is_not_trusted(tmp_path, trusted_store, full_ota, tsuf):
    (certificate,) = (trusted_store / "oem").glob("*.pem")
    certificate.chmod(0o666)
    with pytest.raises(TrustStoreError):
        TrustStore(trusted_store).oem_certificates()
    code, _, err = tsuf("payload", "extract", full_ota, "--out", tmp_path / "out", "--trust-store", trusted_store)
    assert code == 1 and "can be changed by other users" in err


def test_a_certificate_under_another_keys_name_is_refused(tmp_path, trusted_store, other_key):
    (certificate,) = (trusted_store / "oem").glob("*.pem")
    certificate.write_bytes(generator.certificate_pem(other_key))
    with pytest.raises(TrustStoreError, match="holds key"):
        TrustStore(trusted_store).oem_certificates()


def test_an_ec_ota_key(tsuf, tmp_path, images):
    """EC OTA keys sign with ECDSA, padded to a fixed size with the unpadded size recorded."""
    key = ec.generate_private_key(ec.SECP256R1())
    payload = generator.Payload()
    payload.add_full("boot", images["boot"])
    properties = payload.write(tmp_path / "payload.bin", key)
    ota = generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties, generator.certificate_pem(key))
    code, out, err = tsuf("payload", "extract", ota, "--out", tmp_path / "out", "--otacert",
                          "--trust-store", tmp_path / "empty")
    assert code == 0, err
    assert (tmp_path / "out" / "boot.img").read_bytes() == images["boot"]
