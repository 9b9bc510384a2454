import pytest

from flasher.package import keys
from flasher.package.errors import (BadSignature, KeyFileError, ManifestError, TrustStoreError, UnsignedPackage,
                                    UntrustedPackage)
from flasher.package.manifest import canonical_json
from flasher.package.trust import TrustStore, default_trust_store_folder, verify_manifest

from .test_manifest import manifest_dict

MANIFEST = canonical_json(manifest_dict())


def test_a_signature_by_a_trusted_key_is_trusted(store, release_key):
    trusted = verify_manifest(MANIFEST, {release_key.key_id: release_key.sign(MANIFEST)}, store)
    assert trusted.admission.trusted_signers == (release_key.key_id,)
    assert trusted.manifest.build == "B130"
    assert trusted.manifest_bytes == MANIFEST and len(trusted.manifest_sha256) == 64


def test_no_signature_is_unsigned(store):
    with pytest.raises(UnsignedPackage):
        verify_manifest(MANIFEST, {}, store)


def test_an_unknown_key_is_untrusted_and_named(store, other_key):
    with pytest.raises(UntrustedPackage, match=other_key.key_id) as error:
        verify_manifest(MANIFEST, {other_key.key_id: other_key.sign(MANIFEST)}, store)
    assert "tsuf keys import" in error.value.hint


def test_a_changed_manifest_is_a_bad_signature(store, release_key):
    flipped = bytearray(MANIFEST)
    flipped[10] ^= 0x01
    with pytest.raises(BadSignature):
        verify_manifest(bytes(flipped), {release_key.key_id: release_key.sign(MANIFEST)}, store)


def test_a_changed_signature_is_a_bad_signature(store, release_key):
    signature = bytearray(release_key.sign(MANIFEST))
    signature[0] ^= 0x80
    with pytest.raises(BadSignature):
        verify_manifest(MANIFEST, {release_key.key_id: bytes(signature)}, store)


def test_key_rotation_one_trusted_signature_of_two_is_enough(store, release_key, other_key):
    signatures = {release_key.key_id: release_key.sign(MANIFEST), other_key.key_id: other_key.sign(MANIFEST)}
    trusted = verify_manifest(MANIFEST, signatures, store)
    assert trusted.admission.trusted_signers == (release_key.key_id,)
    assert trusted.admission.unknown == (other_key.key_id,)


def test_a_bad_signature_by_a_trusted_key_refuses_even_beside_a_good_one(tmp_path, store, release_key, other_key):
    public = tmp_path / "other.pub.pem"
    public.write_bytes(keys.public_pem(other_key.public_key))
    store.import_key(public)
    signatures = {release_key.key_id: release_key.sign(MANIFEST), other_key.key_id: other_key.sign(b"other")}
    with pytest.raises(BadSignature, match=other_key.key_id):
        verify_manifest(MANIFEST, signatures, store)


def test_removing_a_key_revokes_it(store, release_key):
    store.remove(release_key.key_id)
    assert store.keys() == []
    with pytest.raises(UntrustedPackage):
        verify_manifest(MANIFEST, {release_key.key_id: release_key.sign(MANIFEST)}, store)
    with pytest.raises(TrustStoreError):
        store.remove(release_key.key_id)


def test_the_schema_is_checked_after_the_signature(store, release_key):
    absurd = canonical_json(manifest_dict(rollback_index=(1 << 63) - 1))
    with pytest.raises(ManifestError):
        verify_manifest(absurd, {release_key.key_id: release_key.sign(absurd)}, store)


def test_store_lists_keys_and_refuses_a_key_filed_under_another_id(tmp_path, store, release_key, other_key):
    [key] = store.keys()
    assert (key.key_id, key.algorithm) == (release_key.key_id, "ed25519")
    (store.folder / f"{release_key.key_id}.pem").write_bytes(keys.public_pem(other_key.public_key))
    with pytest.raises(TrustStoreError, match="holds key"):
        store.keys()


def test_importing_a_private_key_is_refused(tmp_path):
    private, _ = keys.write_key_pair(keys.generate_key(), tmp_path, "release")
    with pytest.raises(KeyFileError):
        TrustStore(tmp_path / "trust").import_key(private)
    assert not (tmp_path / "trust").exists()


def test_a_missing_folder_is_an_empty_store(tmp_path):
    assert TrustStore(tmp_path / "none").keys() == []


def test_default_folder_is_overridden_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TSUF_TRUST_STORE", str(tmp_path))
    assert default_trust_store_folder() == tmp_path
    monkeypatch.delenv("TSUF_TRUST_STORE")
    monkeypatch.setenv("TSUF_HOME", str(tmp_path))
    assert default_trust_store_folder() == tmp_path / "config" / "trust"
    monkeypatch.delenv("TSUF_HOME")
    assert default_trust_store_folder().parts[-2:] == ("tsuf", "trust")


def test_a_trust_store_others_can_write_is_not_trusted(tmp_path):
    import os

    from flasher.package import keys as key_tools
    from flasher.package.errors import TrustStoreError
    from flasher.package.trust import TrustStore
    key = key_tools.generate_key()
    _, public = key_tools.write_key_pair(key, tmp_path / "keys", "release")
    store = TrustStore(tmp_path / "trust")
    trusted = store.import_key(public)
    assert (store.folder.stat().st_mode & 0o777) == 0o700
    assert (trusted.path.stat().st_mode & 0o777) == 0o600
    os.chmod(store.folder, 0o777)
    with pytest.raises(TrustStoreError, match="other users"):
        store.get(trusted.key_id)
