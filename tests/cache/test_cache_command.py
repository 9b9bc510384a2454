"""`tsuf cache list|add|prune` as a user runs them."""

import json
import os
import subprocess
import sys

import pytest

from flasher.cache.store import CacheError
from flasher.cli.cache_command import parse_size


@pytest.fixture
def tsuf(tmp_path):
    env = {**os.environ, "TSUF_HOME": str(tmp_path / "home")}

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                                timeout=60, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout
    return run


def test_add_list_and_prune(tsuf, tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.img").write_bytes(os.urandom(3000))
    first = tsuf("cache", "add", str(tmp_path / "a.img")).strip()
    second = tsuf("cache", "add", str(tmp_path / "b.img")).strip()
    listing = json.loads(tsuf("--json", "cache", "list"))
    assert [entry["sha256"] for entry in listing["entries"]] == [second, first]
    assert listing["folder"] == str(tmp_path / "home" / "data" / "cache")
    assert "evicted 1 entries" in tsuf("cache", "prune", "--max-size", "4K")
    assert second in tsuf("cache", "list") and first not in tsuf("cache", "list")


@pytest.mark.parametrize("text, size", [("1048576", 1 << 20), ("500M", 500 << 20), ("8G", 8 << 30),
                                        ("8GiB", 8 << 30), ("2 k", 2048), ("0", 0)])
def test_sizes_parse_in_binary_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1G", "1.5G", "8X", "G"])
def test_bad_sizes_are_named(text):
    with pytest.raises(CacheError):
        parse_size(text)
