"""Scopes and thresholds: a trusted key signs only what its scope allows."""

import json
import os

import pytest

from flasher.package import keys
from flasher.package.errors import KeyOutOfScope, TrustStoreError, UntrustedPackage
from flasher.package.manifest import canonical_json
from flasher.package.roles import EVERYTHING, Scope, parse_kinds, parse_products
from flasher.package.trust import STORE_FILE, TrustStore, verify_manifest

from .test_delta_manifest import manifest as delta_manifest
from .test_manifest import manifest_dict

MANIFEST = canonical_json(manifest_dict())  # a full package for P855A01
SIDELOAD = canonical_json(manifest_dict(install="sideload"))
DELTA = delta_manifest()


def _trust(store: TrustStore, key: keys.SigningKey, scope: Scope | None = None):
    public = store.folder.parent / f"{key.key_id}.pub.pem"
    public.write_bytes(keys.public_pem(key.public_key))
    return store.import_key(public, scope)


def _signed(manifest: bytes, *signers: keys.SigningKey) -> dict[str, bytes]:
    return {key.key_id: key.sign(manifest) for key in signers}


def test_a_key_scoped_to_another_product_is_refused_by_name(store, release_key):
    store.set_scope(release_key.key_id, Scope(products=frozenset({"P999"})))
    with pytest.raises(KeyOutOfScope, match="full packages for P855A01") as error:
        verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store)
    assert f"tsuf keys scope {release_key.key_id} --products P855A01 --kinds full" in error.value.hint


def test_a_key_scoped_to_other_kinds_is_refused_by_name(store, release_key):
    store.set_scope(release_key.key_id, Scope(kinds=frozenset({"full", "delta"})))
    assert verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store).admission.trusted_signers == (release_key.key_id,)
    with pytest.raises(KeyOutOfScope, match="sideload packages for P855A01"):
        verify_manifest(SIDELOAD, _signed(SIDELOAD, release_key), store)


def test_a_key_for_full_packages_does_not_sign_deltas(store, release_key):
    store.set_scope(release_key.key_id, Scope(kinds=frozenset({"full"})))
    with pytest.raises(KeyOutOfScope, match="delta packages for P855A01"):
        verify_manifest(DELTA, _signed(DELTA, release_key), store)


def test_the_admission_names_the_key_its_role_and_scope(store, release_key):
    store.set_scope(release_key.key_id, Scope(products=frozenset({"P855A01", "P2"}), kinds=frozenset({"full"}),
                                              catalogs=False))
    admission = verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store).admission
    assert admission.describe() == (f"key {release_key.key_id[:16]} (package signer: full packages for P2, "
                                    "P855A01; no catalogs)")


def test_rotation_to_a_key_in_scope_admits_while_the_old_one_is_out_of_scope(tmp_path, store, release_key, other_key):
    store.set_scope(release_key.key_id, Scope(products=frozenset({"P999"})))
    _trust(store, other_key, Scope(products=frozenset({"P855A01"})))
    admission = verify_manifest(MANIFEST, _signed(MANIFEST, release_key, other_key), store).admission
    assert admission.trusted_signers == (other_key.key_id,)
    assert admission.out_of_scope == (release_key.key_id,)


def test_a_threshold_asks_for_that_many_keys_in_scope(store, release_key, other_key):
    store.set_threshold("package", 2)
    with pytest.raises(UntrustedPackage, match="asks for 2") as error:
        verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store)
    assert "tsuf keys threshold package 1" in error.value.hint
    _trust(store, other_key, Scope(products=frozenset({"P999"})))
    with pytest.raises(UntrustedPackage, match="asks for 2"):  # an out-of-scope signer does not count
        verify_manifest(MANIFEST, _signed(MANIFEST, release_key, other_key), store)
    store.set_scope(other_key.key_id, EVERYTHING)
    assert len(verify_manifest(MANIFEST, _signed(MANIFEST, release_key, other_key), store).admission.trusted_signers) == 2


def test_thresholds_outside_their_range_are_refused(store):
    for role, count in (("package", 0), ("catalog", 17), ("root", 1)):
        with pytest.raises(TrustStoreError):
            store.set_threshold(role, count)


def _store_of_today(folder, *signers: keys.SigningKey) -> TrustStore:
    """A trust store as TSUF wrote it before scopes: 0700 folder of 0600 <key id>.pem files, nothing else."""
    folder.mkdir(mode=0o700)
    for key in signers:
        path = folder / f"{key.key_id}.pem"
        path.write_bytes(keys.public_pem(key.public_key))
        os.chmod(path, 0o600)
    return TrustStore(folder)


def test_a_store_from_before_scopes_migrates_on_first_read_trusting_its_keys_as_before(tmp_path, release_key):
    store = _store_of_today(tmp_path / "trust", release_key)
    assert verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store).admission.trusted_signers == (release_key.key_id,)
    written = json.loads((store.folder / STORE_FILE).read_text())
    assert written["format_version"] == 2
    assert written["keys"] == {release_key.key_id: {"products": "any", "kinds": ["full", "delta", "sideload"],
                                                    "catalogs": True}}
    assert (store.folder / STORE_FILE).stat().st_mode & 0o777 == 0o600
    [key] = store.keys()
    assert key.scope == EVERYTHING


def test_a_store_from_before_scopes_that_cannot_be_written_still_reads_the_same(tmp_path, release_key):
    store = _store_of_today(tmp_path / "trust", release_key)
    (store.folder / f"{STORE_FILE}.tmp").mkdir()  # where trust.json would be written first: the write fails
    assert store.keys()[0].scope == EVERYTHING
    assert verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store).admission.trusted_signers
    assert not (store.folder / STORE_FILE).exists()


def test_a_key_file_placed_by_hand_in_a_scoped_store_is_trusted_for_nothing(store, other_key):
    path = store.folder / f"{other_key.key_id}.pem"
    path.write_bytes(keys.public_pem(other_key.public_key))
    os.chmod(path, 0o600)
    with pytest.raises(KeyOutOfScope, match="no packages; no catalogs"):
        verify_manifest(MANIFEST, _signed(MANIFEST, other_key), store)


@pytest.mark.parametrize("content", [b"{", b"[]", json.dumps({"format_version": 2, "keys": {}}).encode(),
                                     json.dumps({"format_version": 2, "keys": {"0" * 32: {"products": "any"}},
                                                 "thresholds": {}}).encode(),
                                     json.dumps({"format_version": 2, "keys": {}, "thresholds": {"package": 0}}).encode(),
                                     json.dumps({"format_version": 1, "keys": {}, "thresholds": {}}).encode(),
                                     b" " * (2 << 20)])
def test_a_damaged_store_file_is_refused(store, release_key, content):
    (store.folder / STORE_FILE).write_bytes(content)
    with pytest.raises(TrustStoreError):
        verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store)


def test_a_store_from_a_newer_tsuf_is_refused_with_what_to_do(store, release_key):
    (store.folder / STORE_FILE).write_text(json.dumps({"format_version": 3, "keys": {}, "thresholds": {}}))
    with pytest.raises(TrustStoreError, match="newer") as error:
        store.keys()
    assert "Update TSUF" in error.value.hint


def test_a_store_file_others_can_write_is_not_trusted(store, release_key):
    os.chmod(store.folder / STORE_FILE, 0o666)
    with pytest.raises(TrustStoreError, match="other users"):
        verify_manifest(MANIFEST, _signed(MANIFEST, release_key), store)


def test_reimporting_a_key_keeps_its_scope_unless_given_one(tmp_path, store, release_key):
    narrow = Scope(products=frozenset({"P1"}), kinds=frozenset({"delta"}), catalogs=False)
    store.set_scope(release_key.key_id, narrow)
    assert _trust(store, release_key).scope == narrow
    assert _trust(store, release_key, EVERYTHING).scope == EVERYTHING


def test_removing_a_key_removes_its_scope(store, release_key):
    store.remove(release_key.key_id)
    assert json.loads((store.folder / STORE_FILE).read_text())["keys"] == {}


def test_scope_words_are_parsed_strictly():
    assert parse_products("any") is None
    assert parse_products("P1,P2") == {"P1", "P2"}
    assert parse_kinds("none") == frozenset()
    assert parse_kinds("full,delta") == {"full", "delta"}
    for bad in ("", "P1,,P2", "../x", "P 1"):
        with pytest.raises(ValueError):
            parse_products(bad)
    for bad in ("", "full,ota", "any"):
        with pytest.raises(ValueError):
            parse_kinds(bad)
