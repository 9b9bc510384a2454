"""Manifests and package files built to exhaust the reader: deep nesting, endless digits, endless files."""

import os
import threading
import zipfile

import pytest

from flasher.errors import FlasherError
from flasher.package.archive import PackageReader, inspect_package
from flasher.package.errors import ArchiveError, ManifestError
from flasher.package.manifest import parse_manifest
from tests.support.packages import make_keys

DEEP = b"[" * 100_000 + b"]" * 100_000


def hostile_package(path, manifest: bytes, signer=None):
    """A zip shaped like a package around `manifest`, signed by `signer` when given."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest)
        if signer:
            archive.writestr(f"signatures/{signer.key_id}.sig", signer.sign(manifest))
    return path


def test_a_deeply_nested_manifest_is_refused_by_name():
    with pytest.raises(ManifestError, match="nests deeper than 16 levels"):
        parse_manifest(DEEP)
    with pytest.raises(ManifestError, match="nests deeper"):
        parse_manifest(b'{"images":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001)


def test_a_rollback_index_of_5000_digits_gets_a_named_error_without_python_internals():
    manifest = b'{"format_version":1,"rollback_index":' + b"9" * 5000 + b"}"
    with pytest.raises(ManifestError) as refused:
        parse_manifest(manifest)
    assert "5000 digits" in str(refused.value)
    assert "set_int_max_str_digits" not in str(refused.value)
    with pytest.raises(ManifestError, match="digits"):
        parse_manifest(b'{"size":1.' + b"5" * 5000 + b"}")


def test_duplicate_keys_and_non_numbers_are_refused():
    for data in (b'{"a":1,"a":2}', b'{"a":NaN}', b'{"a":-Infinity}'):
        with pytest.raises(ManifestError, match="not valid JSON"):
            parse_manifest(data)


def test_a_deep_manifest_in_a_package_is_refused_inspected_or_verified(tmp_path):
    keyring = make_keys(tmp_path)
    unsigned = hostile_package(tmp_path / "unsigned.zip", DEEP)
    with pytest.raises(ManifestError, match="nests deeper"):
        inspect_package(unsigned, keyring.trust_store)
    signed = hostile_package(tmp_path / "signed.zip", DEEP, keyring.signing)  # a trusted key signed it
    with pytest.raises(ManifestError, match="nests deeper"):
        PackageReader(signed, keyring.trust_store)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_a_device_is_not_read_as_a_package(tmp_path, path):
    store = make_keys(tmp_path).trust_store
    with pytest.raises(ArchiveError, match="character device"):
        PackageReader(path, store)
    with pytest.raises(ArchiveError, match="character device"):
        inspect_package(path, store)


def test_a_folder_or_a_pipe_is_refused_without_waiting(tmp_path):
    store = make_keys(tmp_path).trust_store
    with pytest.raises(ArchiveError, match="a folder"):
        inspect_package(tmp_path, store)
    pipe = tmp_path / "pipe.zip"
    os.mkfifo(pipe)
    refused = []
    reader = threading.Thread(target=lambda: refused.append(_refusal(pipe, store)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # opening blocked for a writer: unblock it so the test can end
        with open(pipe, "wb"):
            pass
        pytest.fail("opening a pipe as a package waited for a writer")
    assert isinstance(refused[0], ArchiveError) and "pipe" in str(refused[0])


def _refusal(path, store):
    try:
        PackageReader(path, store)
    except FlasherError as error:
        return error
    return None
