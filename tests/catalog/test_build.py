"""`build_catalog`: what the verified manifests and vendor OTAs say, where they are, signed and versioned."""

import hashlib
import json
import shutil
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from flasher.catalog.build import build_catalog
from flasher.catalog.errors import CatalogBuildError, CatalogSignatureError
from flasher.catalog.trusted import SeenCatalogs, verify_catalog
from flasher.library.vendor_ota import UnusableOtaMetadata
from flasher.package.errors import UntrustedPackage
from flasher.package.summary import PACKAGE, VENDOR_OTA
from flasher.package.trust import TrustStore
from tests.payload import generator
from tests.support.locked import station_keys
from tests.support.packages import make_keys, make_ota_package, make_package
from tests.support.vendor_ota import full_ota, incremental_ota, oem_certificate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def published(releases, tmp_path):
    """A copy of the publisher's folder, so each test writes its own catalog."""
    return shutil.copytree(releases.folder, tmp_path / "published")


def test_a_catalog_lists_each_package_as_its_manifest_says(releases, published, tmp_path):
    output = published / "catalog.json"
    packages = sorted(published.rglob("*.zip"))
    catalog = build_catalog(packages, [releases.keys.signing], output, trust_store=releases.keys.trust_store,
                            now=NOW, lifetime=timedelta(days=7))
    assert catalog.expires == "2026-06-08T12:00:00Z"
    assert catalog.format_version == 1 and b'"format_version":1' in output.read_bytes()  # older stations read it
    by_url = {entry.url: entry for entry in catalog.packages}
    delta = by_url["deltas/tsuf_zte_ab-B120-B130.zip"]
    assert (delta.type, delta.source_build, delta.build, delta.rollback_index) == ("delta", "B120", "B130", 2)
    full = by_url["tsuf_zte_ab-B110.zip"]
    assert (full.type, full.source_build, full.build, full.hw_revisions) == ("full", None, "B110", ("10000",))
    for path in packages:
        entry = by_url[path.relative_to(published).as_posix()]
        assert entry.size == path.stat().st_size
        assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    trusted = verify_catalog(output.read_bytes(), str(output), releases.keys.trust_store,
                             SeenCatalogs(tmp_path / "seen"), now=NOW)
    assert trusted.catalog == catalog


def test_each_rebuild_supersedes_the_last(releases, published):
    output = published / "catalog.json"
    args = ([published / releases.full["B130"].name], [releases.keys.signing], output)
    first = build_catalog(*args, trust_store=releases.keys.trust_store, now=NOW)
    assert first.version == int(NOW.timestamp())  # rebuilt on another machine, it still supersedes older ones
    second = build_catalog(*args, trust_store=releases.keys.trust_store, now=NOW)
    assert second.version == first.version + 1
    assert build_catalog(*args, trust_store=releases.keys.trust_store, version=3).version == 3
    with pytest.raises(CatalogBuildError, match="between"):
        build_catalog(*args, trust_store=releases.keys.trust_store, version=1 << 32)


def test_packages_outside_the_catalog_folder_need_a_base_url(releases, published, tmp_path):
    elsewhere = shutil.copy(releases.full["B130"], tmp_path / "elsewhere.zip")
    output = published / "catalog.json"
    with pytest.raises(CatalogBuildError, match="not in the catalog's folder") as refused:
        build_catalog([elsewhere], [releases.keys.signing], output, trust_store=releases.keys.trust_store)
    assert "--base-url" in refused.value.hint
    assert not output.exists()
    catalog = build_catalog([elsewhere, published / "deltas" / releases.delta.name], [releases.keys.signing],
                            output, trust_store=releases.keys.trust_store, base_url="https://cdn.example/fw/")
    assert [entry.url for entry in catalog.packages] == [
        "https://cdn.example/fw/elsewhere.zip", "https://cdn.example/fw/deltas/tsuf_zte_ab-B120-B130.zip"]


def test_a_package_the_publisher_does_not_trust_is_not_listed(releases, published, tmp_path):
    stranger = make_keys(tmp_path / "stranger")
    foreign = make_package(published, stranger, build="B140")
    with pytest.raises(UntrustedPackage):
        build_catalog([foreign], [releases.keys.signing], published / "catalog.json",
                      trust_store=releases.keys.trust_store)
    assert not (published / "catalog.json").exists()


def test_a_sideload_package_is_listed_as_one_under_the_signature(tmp_path):
    keyring = station_keys(tmp_path)  # the publisher trusts its release key and the OEM key
    published = tmp_path / "published"
    packages = [make_package(published, keyring, build="B130"), make_ota_package(published, keyring, build="B130")]
    output = published / "catalog.json"
    catalog = build_catalog(packages, [keyring.signing], output, trust_store=keyring.trust_store, now=NOW)
    assert [(entry.url, entry.install) for entry in catalog.packages] == [
        ("tsuf_zte_ab-B130-0.zip", "fastboot"), ("tsuf_zte_ab-B130-0-ota.zip", "sideload")]
    seen = SeenCatalogs(tmp_path / "seen")
    assert verify_catalog(output.read_bytes(), str(output), keyring.trust_store, seen, now=NOW).catalog == catalog
    # Passing the package off as a fastboot one changes what was signed.
    relabelled = output.read_bytes().replace(b'"install":"sideload",', b"")
    with pytest.raises(CatalogSignatureError):
        verify_catalog(relabelled, str(output), keyring.trust_store, seen, now=NOW)


@pytest.fixture
def oem_key():
    return generator.rsa_key()


@pytest.fixture
def publisher(releases, tmp_path, oem_key):
    """The publisher's trust store: the release key and the maker's OTA certificate."""
    store = TrustStore(shutil.copytree(releases.keys.trust_store.folder, tmp_path / "trust"))
    store.import_oem_certificate(oem_certificate(tmp_path, oem_key))
    return store


def test_a_catalog_of_packages_and_vendor_otas_is_format_2_and_lists_both_hashes(releases, published, publisher,
                                                                               oem_key, tmp_path):
    full_ota(published / "vendor" / "B140-full.zip", releases.keys, oem_key)
    incremental_ota(published / "vendor" / "B130-B140.zip", oem_key)
    output = published / "catalog.json"
    files = [published / releases.full["B130"].name, *sorted((published / "vendor").iterdir())]
    catalog = build_catalog(files, [releases.keys.signing], output, trust_store=publisher, now=NOW)
    assert catalog.format_version == 2 and b'"format_version":2' in output.read_bytes()
    package, incremental, full = catalog.packages
    assert (package.kind, package.url, package.rollback_index) == (PACKAGE, "tsuf_zte_ab-B130.zip", 2)
    assert [(e.kind, e.type, e.source_build, e.build, e.url) for e in (full, incremental)] == [
        (VENDOR_OTA, "full", None, "B140", "vendor/B140-full.zip"),
        (VENDOR_OTA, "incremental", "B130", "B140", "vendor/B130-B140.zip")]
    for entry in (full, incremental):
        zip_path = published / entry.url
        assert (entry.size, entry.sha256) == (zip_path.stat().st_size, hashlib.sha256(zip_path.read_bytes()).hexdigest())
        with zipfile.ZipFile(zip_path) as archive:  # the payload's FILE_HASH: what the opened OTA reports
            assert entry.payload_sha256 == hashlib.sha256(archive.read("payload.bin")).hexdigest()
        assert entry.signer == f"trusted OEM certificate {publisher.oem_certificates()[0].key_id[:16]}"
        assert (entry.hw_revisions, entry.rollback_index, entry.install) == ((), None, "fastboot")
    listed = json.loads(output.read_bytes())["signed"]["packages"]
    assert [sorted(item) for item in listed[1:]] == [
        ["build", "kind", "package_id", "payload_sha256", "product", "sha256", "signer", "size", "source_build",
         "type", "url"],
        ["build", "kind", "package_id", "payload_sha256", "product", "sha256", "signer", "size", "type", "url"]]
    trusted = verify_catalog(output.read_bytes(), str(output), publisher, SeenCatalogs(tmp_path / "seen"), now=NOW)
    assert trusted.catalog == catalog


@pytest.mark.parametrize("station_trusts", ["another maker's certificate", "no OTA certificate"])
def test_an_ota_no_trusted_oem_certificate_verifies_is_refused_and_nothing_is_written(releases, published, tmp_path,
                                                                                    station_trusts):
    store = TrustStore(shutil.copytree(releases.keys.trust_store.folder, tmp_path / "trust"))
    if station_trusts == "another maker's certificate":
        store.import_oem_certificate(oem_certificate(tmp_path, generator.rsa_key()))
    ota = published / "B140-ota.zip"
    full_ota(ota, releases.keys, generator.rsa_key())
    with pytest.raises(CatalogBuildError, match="no trusted OEM certificate verifies") as refused:
        build_catalog([published / releases.full["B130"].name, ota], [releases.keys.signing],
                      published / "catalog.json", trust_store=store, now=NOW)
    assert "tsuf payload trust" in refused.value.hint
    assert not (published / "catalog.json").exists()


def test_an_ota_a_station_could_not_take_is_refused_by_name_and_nothing_is_written(releases, published, publisher,
                                                                                   oem_key):
    payload = generator.Payload()
    payload.add_full("boot", bytes(8192))
    properties = payload.write(published / "payload.bin", oem_key)
    ota = generator.ota_zip(published / "walleye-ota.zip", published / "payload.bin", properties)  # names no build
    with pytest.raises(UnusableOtaMetadata, match="build"):
        build_catalog([*sorted(published.glob("tsuf_zte_ab-*.zip")), ota], [releases.keys.signing],
                      published / "catalog.json", trust_store=publisher, now=NOW)
    assert not (published / "catalog.json").exists()
