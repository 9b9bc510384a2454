"""`tsuf keys` and `tsuf package` as a user runs them."""

import json
import os
import subprocess
import sys
import zipfile

import pytest


@pytest.fixture
def tsuf(tmp_path):
    env = {**os.environ, "TSUF_TRUST_STORE": str(tmp_path / "trust")}

    def run(*args, expect=0):
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                                timeout=120, env=env)
        assert result.returncode == expect, result.stdout + result.stderr
        return result
    return run


def test_keys_build_inspect_verify_round_trip(tmp_path, tsuf):
    key = json.loads(tsuf("--json", "keys", "generate", "release", "--out", str(tmp_path / "keys")).stdout)
    oem = json.loads(tsuf("--json", "keys", "generate", "oem", "--algorithm", "ecdsa-p256",
                          "--out", str(tmp_path / "keys")).stdout)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "boot.img").write_bytes(os.urandom(8192))
    (tmp_path / "images" / "misc.img").write_bytes(bytes(4096))
    (tmp_path / "describe.json").write_text(json.dumps(
        {"product": "P855A01", "hw_revisions": ["r1"], "build": "B130", "rollback_index": 7, "unslotted": ["misc"]}))
    package = str(tmp_path / "release.zip")
    tsuf("package", "build", "--images", str(tmp_path / "images"), "--describe", str(tmp_path / "describe.json"),
         "--key", key["private"], "--oem-key", oem["private"], "-o", package)

    untrusted = json.loads(tsuf("package", "inspect", package, "--json").stdout)
    assert untrusted["trusted"] is False
    assert untrusted["signers"] == [{"key_id": key["key_id"], "status": "unknown key"}]
    failed = tsuf("package", "verify", package, expect=1)
    assert key["key_id"] in failed.stderr and "tsuf keys import" in failed.stderr

    tsuf("keys", "import", key["public"])
    assert key["key_id"] in tsuf("keys", "list").stdout
    inspected = json.loads(tsuf("package", "inspect", package, "--json").stdout)
    assert inspected["trusted"] is True and inspected["build"] == "B130"
    assert {i["partition"]: i["size"] for i in inspected["images"]} == {"boot": 8192, "misc": 4096,
                                                                        "vbmeta": inspected["images"][2]["size"]}
    assert "signer " + key["key_id"] + ": trusted" in tsuf("package", "inspect", package).stdout
    assert "trusted" in tsuf("package", "verify", package).stdout

    with zipfile.ZipFile(package) as original, zipfile.ZipFile(tmp_path / "tampered.zip", "w") as tampered:
        for info in original.infolist():
            data = original.read(info)
            tampered.writestr(info, data[:-1] + b"!" if info.filename == "images/boot.img" else data)
    assert "does not match" in tsuf("package", "verify", str(tmp_path / "tampered.zip"), expect=1).stderr

    tsuf("keys", "remove", key["key_id"])
    assert "no trusted keys" in tsuf("keys", "list").stdout


def test_trust_store_option_overrides_the_environment(tmp_path, tsuf):
    key = json.loads(tsuf("--json", "keys", "generate", "release", "--out", str(tmp_path)).stdout)
    tsuf("keys", "import", key["public"], "--trust-store", str(tmp_path / "elsewhere"))
    assert key["key_id"] in tsuf("keys", "list", "--trust-store", str(tmp_path / "elsewhere")).stdout
    assert "no trusted keys" in tsuf("keys", "list").stdout


def test_package_build_needs_a_key(tsuf):
    assert "--key" in tsuf("package", "build", "--images", ".", "--describe", "d.json", "-o", "x.zip",
                           expect=2).stderr


def test_build_a_sideload_package_for_recovery(tmp_path, tsuf):
    oem = json.loads(tsuf("--json", "keys", "generate", "oem", "--out", str(tmp_path / "keys")).stdout)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "boot.img").write_bytes(os.urandom(8192))
    (tmp_path / "describe.json").write_text(json.dumps(
        {"product": "P855A01", "hw_revisions": ["r1"], "build": "B130", "rollback_index": 7}))
    package = str(tmp_path / "ota.zip")
    built = tsuf("package", "build", "--images", str(tmp_path / "images"), "--describe", str(tmp_path / "describe.json"),
                 "--key", oem["private"], "--oem-key", oem["private"], "--install", "sideload", "-o", package)
    assert "installed by recovery (sideload)" in built.stdout
    assert json.loads(tsuf("package", "inspect", package, "--json").stdout)["install"] == "sideload"
    delta = tsuf("package", "build", "--target", package, "--source", package, "--key", oem["private"],
                 "--install", "sideload", "-o", str(tmp_path / "delta.zip"), expect=1)
    assert "full packages only" in delta.stderr


def test_keys_are_imported_with_a_scope_shown_and_rescoped(tmp_path, tsuf):
    key = json.loads(tsuf("--json", "keys", "generate", "shop", "--out", str(tmp_path / "keys")).stdout)
    imported = tsuf("keys", "import", key["public"], "--products", "P1,P2", "--kinds", "full,delta", "--no-catalogs")
    assert "may sign: full, delta packages for P1, P2; no catalogs" in imported.stdout
    assert f"{key['key_id']}  ed25519  full, delta packages for P1, P2; no catalogs" in tsuf("keys", "list").stdout
    rescoped = tsuf("keys", "scope", key["key_id"], "--kinds", "none", "--catalogs")
    assert "may sign: no packages; catalogs" in rescoped.stdout
    tsuf("keys", "threshold", "catalog", "2")
    listed = json.loads(tsuf("--json", "keys", "list").stdout)
    assert listed["keys"][0]["scope"] == {"products": ["P1", "P2"], "kinds": [], "catalogs": True}
    assert listed["thresholds"] == {"package": 1, "catalog": 2}
    assert "threshold: catalog 2" in tsuf("keys", "list").stdout
    assert "no packages; catalogs" in tsuf("keys", "scope", key["key_id"], "--products", "any").stdout
    assert "full packages for any product" in tsuf("keys", "scope", key["key_id"], "--kinds", "full").stdout


def test_scope_words_a_user_mistypes_are_refused(tmp_path, tsuf):
    key = json.loads(tsuf("--json", "keys", "generate", "shop", "--out", str(tmp_path / "keys")).stdout)
    assert "kinds must be" in tsuf("keys", "import", key["public"], "--kinds", "ota", expect=2).stderr
    assert "products must be" in tsuf("keys", "import", key["public"], "--products", "../x", expect=2).stderr
    assert not (tmp_path / "trust").exists()
    assert "no key" in tsuf("keys", "scope", "0" * 32, "--catalogs", expect=1).stderr
    assert "invalid choice" in tsuf("keys", "threshold", "root", "2", expect=2).stderr
