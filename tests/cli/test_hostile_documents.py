"""Catalogs, manifests and package paths built to crash or hang `tsuf`: each ends in one named error."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.support.releases import releases as releases  # the publisher's folder, built once

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def tsuf(tmp_path):
    def run(*args):
        environment = {**os.environ, "TSUF_HOME": str(tmp_path / "home")}
        environment.pop("TSUF_CATALOG", None)
        return subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                              timeout=120, env=environment)
    return run


def refused(result, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr.splitlines()[0], result.stderr
    assert result.stderr.splitlines()[1].startswith("tsuf: ")  # the hint


def deep_package(path, signer=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", DEEP)
        if signer:
            archive.writestr(f"signatures/{signer.key_id}.sig", signer.sign(DEEP))
    return path


def test_a_deeply_nested_catalog_is_refused_shown_or_used(releases, tsuf, tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_bytes(DEEP)
    trust = ("--trust-store", str(releases.keys.trust_store.folder))
    refused(tsuf("catalog", "show", str(catalog), *trust), "the catalog nests deeper than 16 levels")
    refused(tsuf("-s", "tcp:127.0.0.1:9", "update", "--latest", "--catalog", str(catalog), *trust),
            "the catalog nests deeper")


def test_a_deeply_nested_manifest_is_refused_by_inspect_verify_and_update(releases, tsuf, tmp_path):
    trust = ("--trust-store", str(releases.keys.trust_store.folder))
    refused(tsuf("package", "inspect", str(deep_package(tmp_path / "unsigned.zip")), *trust),
            "manifest nests deeper than 16 levels")
    signed = deep_package(tmp_path / "signed.zip", releases.keys.signing)
    refused(tsuf("package", "verify", str(signed), *trust), "manifest nests deeper")
    refused(tsuf("-s", "tcp:127.0.0.1:9", "update", str(signed), *trust), "manifest nests deeper")


def test_a_library_skips_the_one_bad_package_with_a_warning(releases, tsuf, tmp_path):
    shelf = shutil.copytree(releases.folder, tmp_path / "shelf")
    deep_package(shelf / "deep.zip", releases.keys.signing)
    trust = ("--trust-store", str(releases.keys.trust_store.folder))
    added = tsuf("library", "add", str(shelf), *trust)
    assert added.returncode == 0, added.stderr
    assert "4 package(s) indexed" in added.stdout
    assert f"tsuf: warning: skipped {shelf / 'deep.zip'}: manifest nests deeper" in added.stderr
    scanned = tsuf("library", "scan", "--json", *trust)
    assert [item["path"] for item in json.loads(scanned.stdout)["skipped"]] == [str(shelf / "deep.zip")]


@pytest.mark.parametrize("command", [("update",), ("package", "inspect"), ("package", "verify")])
def test_a_device_given_as_the_package_is_refused_at_once(tsuf, command):
    address = ("-s", "tcp:127.0.0.1:9") if command == ("update",) else ()
    refused(tsuf(*address, *command, "/dev/zero"), "/dev/zero is not a package file but a character device")
