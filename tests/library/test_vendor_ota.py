"""Vendor OTA zips (payload.bin) in the firmware library: indexed beside TSUF packages by what their
metadata and payload say, signed by a trusted OEM certificate or shown as not trusted / not available,
and never hashed whole again while unchanged."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

from flasher.cache.store import FirmwareCache
from flasher.library.index import Library
from flasher.library.vendor_ota import NOT_AVAILABLE, NOT_TRUSTED
from flasher.package.summary import VENDOR_OTA
from flasher.package.trust import TrustStore
from flasher.selection.choose import LIBRARY
from flasher.selection.latest import LatestUpdate
from tests.payload import generator
from tests.payload.conftest import changed, firmware_image
from tests.support.packages import make_keys, make_package

PRODUCT = "walleye"
FULL_METADATA = (f"ota-type=AB\npre-device={PRODUCT}\n"
                 f"post-build=google/{PRODUCT}/{PRODUCT}:11/RP1A/B130:user/release-keys\n")


@pytest.fixture(scope="module")
def oem_key():
    return generator.rsa_key()


@pytest.fixture
def certificate(tmp_path, oem_key):
    path = tmp_path / "otacert.pem"
    path.write_bytes(generator.certificate_pem(oem_key))
    return path


@pytest.fixture
def trust(tmp_path, certificate):
    store = TrustStore(tmp_path / "trust")
    store.import_oem_certificate(certificate)
    return store


@pytest.fixture
def shelf(tmp_path):
    folder = tmp_path / "shelf"
    folder.mkdir()
    return folder


@pytest.fixture
def library(tmp_path, shelf):
    library = Library(tmp_path / "home" / "library.json", FirmwareCache(tmp_path / "cache"))
    library.add(shelf)
    return library


def make_ota(folder, name, key, metadata=FULL_METADATA, *, incremental=False, properties=True):
    """An OTA zip as the build makes it, of boot (and, when full, vendor)."""
    payload = generator.Payload()
    boot = firmware_image(1, 40)
    if incremental:
        payload.add_incremental("boot", boot, changed(boot, 2))
    else:
        payload.add_full("boot", boot)
        payload.add_full("vendor", firmware_image(3, 20))
    written = payload.write(folder / f"{name}.bin", key)
    zip_path = generator.ota_zip(folder / f"{name}.zip", folder / f"{name}.bin", written if properties else None,
                                 None, metadata)
    (folder / f"{name}.bin").unlink()
    return zip_path


def only(result):
    assert len(result.packages) == 1, result.skipped
    return result.packages[0]


def test_a_full_ota_is_indexed_like_a_full_package_with_its_oem_signer(library, shelf, trust, oem_key, tmp_path):
    ota = make_ota(shelf, "walleye-ota", oem_key)
    entry = only(library.scan(trust))
    assert (entry.kind, entry.product, entry.build, entry.type, entry.source_build) == (
        VENDOR_OTA, PRODUCT, "B130", "full", None)
    assert (entry.install, entry.hw_revisions, entry.rollback_index) == ("fastboot", (), None)
    assert entry.signer == f"trusted OEM certificate {trust.oem_certificates()[0].key_id[:16]}" and entry.trusted
    assert (entry.path, entry.size) == (str(ota), ota.stat().st_size)
    assert Library(library.index_path).packages() == [entry]  # kept for the next run


def test_post_build_incremental_names_the_build_when_present(library, shelf, trust, oem_key):
    make_ota(shelf, "named", oem_key, FULL_METADATA + "post-build-incremental=8675309\n")
    assert only(library.scan(trust)).build == "8675309"


def test_an_incremental_ota_is_indexed_with_its_source_build(library, shelf, trust, oem_key):
    fingerprints = f"pre-build=google/{PRODUCT}/{PRODUCT}:11/RP1A/B120:user/release-keys\n"
    make_ota(shelf, "from-fingerprint", oem_key, FULL_METADATA + fingerprints, incremental=True)
    make_ota(shelf, "from-incremental", oem_key, FULL_METADATA + fingerprints + "pre-build-incremental=B119\n",
             incremental=True)
    entries = sorted(library.scan(trust).packages, key=lambda p: p.source_build)
    assert [(p.type, p.source_build, p.build) for p in entries] == [("incremental", "B119", "B130"),
                                                                   ("incremental", "B120", "B130")]
    assert all(p.applies_to_a_build for p in entries)


def test_an_ota_no_trusted_certificate_verifies_is_listed_as_not_trusted_or_not_available(
        library, shelf, trust, tmp_path):
    make_ota(shelf, "stranger", generator.rsa_key())
    make_ota(shelf, "unsigned", None)
    signers = {os.path.basename(p.path): p.signer for p in library.scan(trust).packages}
    assert signers == {"stranger.zip": NOT_TRUSTED, "unsigned.zip": NOT_AVAILABLE}
    nobody = TrustStore(tmp_path / "empty-trust")
    assert {p.signer for p in library.scan(nobody).packages} == {NOT_AVAILABLE}


def test_only_trusted_otas_are_offered_for_latest(library, shelf, trust, oem_key):
    make_ota(shelf, "trusted", oem_key)
    make_ota(shelf, "stranger", generator.rsa_key(),
             FULL_METADATA.replace("B130", "B140"))
    library.scan(trust)
    offered = LatestUpdate(trust, library=library).candidates()
    assert [(c.build, c.kind, c.origin) for c in offered] == [("B130", VENDOR_OTA, LIBRARY)]


def test_a_rescan_rechecks_signatures_against_todays_trust_store_without_hashing_again(
        library, shelf, trust, oem_key, certificate, tmp_path):
    ota = make_ota(shelf, "walleye-ota", oem_key)
    assert only(library.scan(trust)).trusted
    # Change payload bytes in place and keep the size and time: only a whole-file hash would notice.
    stat = ota.stat()
    with open(ota, "r+b") as file:
        file.seek(stat.st_size // 2)
        middle = file.read(16)
        file.seek(stat.st_size // 2)
        file.write(bytes(b ^ 0xFF for b in middle))
    os.utime(ota, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert only(library.scan(trust)).trusted  # the kept hashes, not a new read of the payload
    revoked = TrustStore(tmp_path / "revoked")
    assert only(library.scan(revoked)).signer == NOT_AVAILABLE  # certificate gone: checked again, from the index
    revoked.import_oem_certificate(certificate)
    assert only(library.scan(revoked)).trusted


def test_an_ota_and_a_package_are_indexed_side_by_side(library, shelf, oem_key, certificate, tmp_path):
    keys = make_keys(tmp_path / "publisher")
    keys.trust_store.import_oem_certificate(certificate)
    make_package(shelf, keys, build="B125")
    make_ota(shelf, "walleye-ota", oem_key)
    entries = {p.kind: p for p in library.scan(keys.trust_store).packages}
    assert set(entries) == {"package", VENDOR_OTA}
    assert entries["package"].signer == f"key {keys.signing.key_id[:16]}"


def _skip_reason(library, trust, path):
    result = library.scan(trust)
    assert result.packages == []
    return dict(result.skipped)[str(path)]


def test_an_ota_whose_metadata_names_no_product_is_skipped_by_name(library, shelf, trust, oem_key):
    ota = make_ota(shelf, "nameless", oem_key, "ota-type=AB\n")
    assert "does not say which product it is for (pre-device)" in _skip_reason(library, trust, ota)


def test_an_ota_whose_metadata_names_no_build_is_skipped_by_name(library, shelf, trust, oem_key):
    ota = make_ota(shelf, "buildless", oem_key, f"ota-type=AB\npre-device={PRODUCT}\n")
    assert "build (post-build) ''" in _skip_reason(library, trust, ota)


def test_hostile_metadata_never_reaches_the_index(library, shelf, trust, oem_key):
    ota = make_ota(shelf, "hostile", oem_key, FULL_METADATA.replace(f"pre-device={PRODUCT}",
                                                                    "pre-device=\x1b[2Jphone"))
    assert "is not 1 to 128 letters" in _skip_reason(library, trust, ota)
    assert "\x1b" not in library.index_path.read_text()


def test_an_ota_without_properties_is_skipped(library, shelf, trust, oem_key):
    ota = make_ota(shelf, "bare", oem_key, properties=False)
    assert "payload_properties.txt" in _skip_reason(library, trust, ota)


def test_an_ota_whose_payload_is_not_what_its_properties_hashed_is_skipped(library, shelf, trust, oem_key):
    ota = make_ota(shelf, "damaged", oem_key)
    with open(ota, "r+b") as file:
        file.seek(ota.stat().st_size // 2)
        file.write(b"\0" * 64)
    assert "it was changed" in _skip_reason(library, trust, ota)


def test_an_ota_with_a_compressed_or_truncated_payload_is_skipped(library, shelf, trust, oem_key, tmp_path):
    source = make_ota(tmp_path, "source", oem_key)
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    compressed = shelf / "compressed.zip"
    with zipfile.ZipFile(compressed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert "compressed in the zip" in _skip_reason(library, trust, compressed)
    compressed.unlink()
    truncated = shelf / "truncated.zip"
    with zipfile.ZipFile(truncated, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data[:4096] if name == "payload.bin" else data)
    assert str(truncated) in dict(library.scan(trust).skipped)


def test_a_corrupted_index_entry_is_read_again_from_the_file(library, shelf, trust, oem_key):
    make_ota(shelf, "walleye-ota", oem_key)
    library.scan(trust)
    library.index_path.write_text(library.index_path.read_text().replace('"signed_sha256": "', '"signed_sha256": "zz'))
    first = library.scan(trust)
    assert first.packages == [] and "non-hexadecimal" in first.skipped[0][1]
    assert only(library.scan(trust)).trusted  # dropped from the index, so indexed afresh


def test_tsuf_library_list_shows_the_ota_as_a_vendor_ota_with_its_signer(shelf, trust, oem_key, tmp_path):
    make_ota(shelf, "walleye-ota", oem_key)
    make_ota(shelf, "walleye-inc", oem_key, FULL_METADATA.replace("B130", "B140") + "pre-build-incremental=B130\n",
             incremental=True)
    make_ota(shelf, "stranger", generator.rsa_key(), FULL_METADATA.replace("B130", "B150"))

    def tsuf(*args):
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", "library", *args], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "TSUF_HOME": str(tmp_path / "home")})
        assert result.returncode == 0, result.stderr
        return result.stdout
    assert "3 package(s) indexed" in tsuf("add", str(shelf), "--trust-store", str(trust.folder))
    lines = {line.split()[1]: line for line in tsuf("list").splitlines() if line.startswith(f"  {PRODUCT} ")}
    certificate = trust.oem_certificates()[0].key_id[:16]
    assert "full vendor OTA" in lines["B130"] and f"signer: trusted OEM certificate {certificate}" in lines["B130"]
    assert "incremental vendor OTA" in lines["B140"] and "from B130" in lines["B140"]
    assert "not offered" not in lines["B140"]
    assert "signer: not trusted; not offered: no trusted OEM certificate verified it" in lines["B150"]
    listed = json.loads(tsuf("list", "--json"))["packages"]
    assert sorted(p["kind"] for p in listed) == [VENDOR_OTA] * 3
