"""`tsuf package build --source OLD --target NEW` as a user runs it."""

import json
import subprocess
import sys

import pytest

from flasher.package.keys import write_key_pair


@pytest.fixture
def tsuf(delta_build, tmp_path):
    key, _ = write_key_pair(delta_build.key, tmp_path / "keys", "release")

    def run(*args, expect=0):
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args, *(
            ["--key", str(key)] if "build" in args else []),
            "--trust-store", str(delta_build.store.folder)], capture_output=True, text=True, timeout=120)
        assert result.returncode == expect, result.stdout + result.stderr
        return result
    return run


def test_a_delta_from_folders_reports_its_size_and_verifies(delta_build, tsuf, tmp_path):
    (tmp_path / "target.json").write_text(json.dumps(
        {"product": "P855A01", "hw_revisions": ["r1"], "build": "B131", "rollback_index": 8}))
    out = tmp_path / "delta.zip"
    built = json.loads(tsuf("--json", "package", "build", "--source", str(delta_build.source), "--target",
                            str(delta_build.target), "--source-build", "B130", "--describe",
                            str(tmp_path / "target.json"), "--workers", "2", "-o", str(out)).stdout)
    assert built["manifest"]["type"] == "delta" and built["workers"] == 2
    assert 0 < built["package_bytes"] < built["full_bytes"]
    assert "intact" in tsuf("package", "verify", str(out)).stdout
    listing = tsuf("package", "inspect", str(out)).stdout
    assert "patch from B130" in listing and "copy from B130" in listing


def test_a_delta_needs_both_sides(delta_build, tsuf, tmp_path):
    result = tsuf("package", "build", "--target", str(delta_build.target), "-o", str(tmp_path / "d.zip"), expect=1)
    assert "--source" in result.stderr
    result = tsuf("package", "build", "--images", str(delta_build.target), "--source", str(delta_build.source),
                  "-o", str(tmp_path / "d.zip"), expect=1)
    assert "--target" in result.stderr
