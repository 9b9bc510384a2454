"""The one place a catalog is trusted: signature, then no rollback, then no freeze."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from flasher.catalog.errors import (CatalogError, CatalogExpired, CatalogKeyOutOfScope, CatalogRollback,
                                    CatalogSignatureError, CatalogUntrusted)
from flasher.catalog.model import Catalog, CatalogEntry, encode
from flasher.catalog.trusted import SeenCatalogs, load_catalog, verify_catalog
from flasher.package.keys import generate_key
from flasher.package.manifest import utc_timestamp
from flasher.package.roles import Scope
from tests.support.http_server import FileServer
from tests.support.packages import make_keys

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
URL = "https://updates.example/tsuf/catalog.json"
ENTRY = CatalogEntry("p-B130", "P855A01", ("r1",), "B130", 7, "full", size=1000, sha256="ab" * 32, url="B130.zip")


def catalog(version: int, *, expires: datetime = NOW + timedelta(days=30), entry: CatalogEntry = ENTRY) -> Catalog:
    return Catalog(version=version, expires=utc_timestamp(expires), packages=(entry,))


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path)


@pytest.fixture
def seen(tmp_path):
    return SeenCatalogs(tmp_path / "seen")


def test_a_signed_fresh_catalog_is_trusted_and_remembered(keys, seen, tmp_path):
    trusted = verify_catalog(encode(catalog(5), [keys.signing]), URL, keys.trust_store, seen, now=NOW)
    assert trusted.catalog.version == 5
    assert trusted.admission.trusted_signers == (keys.signing.key_id,)
    assert trusted.entry_url(ENTRY) == "https://updates.example/tsuf/B130.zip"
    assert SeenCatalogs(tmp_path / "seen").last(URL) == (5, trusted.signed_sha256)


def test_a_tampered_catalog_is_refused_and_not_remembered(keys, seen):
    data = encode(catalog(5), [keys.signing])
    tampered = data.replace(b'"B130.zip"', b'"B666.zip"')
    assert tampered != data
    with pytest.raises(CatalogSignatureError, match="changed after signing"):
        verify_catalog(tampered, URL, keys.trust_store, seen, now=NOW)
    assert seen.last(URL) is None


def test_a_catalog_signed_by_an_unknown_key_or_unsigned_is_untrusted(keys, seen):
    stranger = generate_key()
    with pytest.raises(CatalogUntrusted, match=stranger.key_id):
        verify_catalog(encode(catalog(5), [stranger]), URL, keys.trust_store, seen, now=NOW)
    with pytest.raises(CatalogUntrusted, match="not signed"):
        verify_catalog(encode(catalog(5), []), URL, keys.trust_store, seen, now=NOW)


def test_a_bad_signature_by_a_trusted_key_wins_over_a_good_one(keys, seen, tmp_path):
    second = make_keys(tmp_path / "second")
    second.trust_store.folder.joinpath(f"{keys.signing.key_id}.pem").write_bytes(
        keys.trust_store.folder.joinpath(f"{keys.signing.key_id}.pem").read_bytes())
    data = json.loads(encode(catalog(5), [keys.signing, second.signing]))
    data["signatures"][keys.signing.key_id] = "00" * 64
    forged = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(CatalogSignatureError):
        verify_catalog(forged, URL, second.trust_store, seen, now=NOW)


def test_a_catalog_signed_by_a_package_only_key_is_refused_by_name(keys, seen):
    keys.trust_store.set_scope(keys.signing.key_id, Scope(catalogs=False))
    with pytest.raises(CatalogKeyOutOfScope, match="does not allow to sign catalogs") as error:
        verify_catalog(encode(catalog(5), [keys.signing]), URL, keys.trust_store, seen, now=NOW)
    assert f"tsuf keys scope {keys.signing.key_id} --catalogs" in error.value.hint
    assert seen.last(URL) is None


def test_a_catalog_key_may_sign_catalogs_without_signing_packages(keys, seen):
    keys.trust_store.set_scope(keys.signing.key_id, Scope(kinds=frozenset(), catalogs=True))
    trusted = verify_catalog(encode(catalog(5), [keys.signing]), URL, keys.trust_store, seen, now=NOW)
    assert trusted.admission.describe() == f"key {keys.signing.key_id[:16]} (catalog signer: no packages; catalogs)"


def test_a_catalog_threshold_asks_for_that_many_catalog_keys(keys, seen):
    keys.trust_store.set_threshold("catalog", 2)
    with pytest.raises(CatalogUntrusted, match="asks for 2"):
        verify_catalog(encode(catalog(5), [keys.signing]), URL, keys.trust_store, seen, now=NOW)


def test_an_expired_catalog_is_refused_and_does_not_advance_the_version(keys, seen):
    stale = encode(catalog(9, expires=NOW - timedelta(seconds=1)), [keys.signing])
    with pytest.raises(CatalogExpired, match="expired"):
        verify_catalog(stale, URL, keys.trust_store, seen, now=NOW)
    assert seen.last(URL) is None
    verify_catalog(encode(catalog(5), [keys.signing]), URL, keys.trust_store, seen, now=NOW)


def test_an_older_catalog_is_refused_even_after_a_restart(keys, seen, tmp_path):
    old, new = encode(catalog(5), [keys.signing]), encode(catalog(6), [keys.signing])
    verify_catalog(old, URL, keys.trust_store, seen, now=NOW)
    verify_catalog(new, URL, keys.trust_store, seen, now=NOW)
    with pytest.raises(CatalogRollback, match="already saw version 6"):
        verify_catalog(old, URL, keys.trust_store, SeenCatalogs(tmp_path / "seen"), now=NOW)
    assert verify_catalog(new, URL, keys.trust_store, seen, now=NOW).catalog.version == 6  # the same one again
    # Versions are kept per catalog URL: another server's catalog starts afresh.
    verify_catalog(old, "https://mirror.example/catalog.json", keys.trust_store, seen, now=NOW)


def test_a_version_reused_for_other_contents_is_refused(keys, seen):
    verify_catalog(encode(catalog(5), [keys.signing]), URL, keys.trust_store, seen, now=NOW)
    other = catalog(5, entry=CatalogEntry("p-B131", "P855A01", ("r1",), "B131", 7, "full", size=1000,
                                          sha256="cd" * 32, url="B131.zip"))
    with pytest.raises(CatalogRollback, match="reuses version 5"):
        verify_catalog(encode(other, [keys.signing]), URL, keys.trust_store, seen, now=NOW)


def test_an_unreadable_record_of_what_was_seen_refuses_rather_than_forgets(keys, seen):
    data = encode(catalog(5), [keys.signing])
    verify_catalog(data, URL, keys.trust_store, seen, now=NOW)
    for path in seen.folder.iterdir():
        path.write_text("{")
    with pytest.raises(CatalogError, match="unreadable") as refused:
        verify_catalog(data, URL, keys.trust_store, seen, now=NOW)
    assert "delete" in refused.value.hint


@pytest.mark.parametrize("attack, error", [
    ("tampered", CatalogSignatureError),
    ("expired", CatalogExpired),
    ("older", CatalogRollback),
])
def test_a_server_on_loopback_cannot_slip_a_bad_catalog_in(attack, error, keys, seen, tmp_path):
    folder = tmp_path / "published"
    folder.mkdir()
    path = folder / "catalog.json"
    now = datetime.now(timezone.utc)
    with FileServer(folder) as server:
        path.write_bytes(encode(catalog(7, expires=now + timedelta(days=1)), [keys.signing]))
        assert load_catalog(server.url("catalog.json"), keys.trust_store, seen).catalog.version == 7
        bad = {"tampered": encode(catalog(8, expires=now + timedelta(days=1)), [keys.signing])
               .replace(b'"B130"', b'"B999"'),
               "expired": encode(catalog(8, expires=now - timedelta(minutes=1)), [keys.signing]),
               "older": encode(catalog(6, expires=now + timedelta(days=1)), [keys.signing])}[attack]
        path.write_bytes(bad)
        with pytest.raises(error):
            load_catalog(server.url("catalog.json"), keys.trust_store, seen)
    assert seen.last(server.url("catalog.json"))[0] == 7


def test_a_folder_catalog_is_read_from_its_catalog_json(keys, seen, tmp_path):
    (tmp_path / "catalog.json").write_bytes(encode(catalog(3), [keys.signing]))
    trusted = load_catalog(str(tmp_path), keys.trust_store, seen, now=NOW)
    assert trusted.url == str(tmp_path / "catalog.json")
    assert trusted.entry_url(ENTRY) == str(tmp_path / "B130.zip")
