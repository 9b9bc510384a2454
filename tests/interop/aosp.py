"""Running Debian's AOSP `fastboot` client (29.0.6) from tests."""

import os
import shutil
import subprocess

import pytest

# Outside CI a developer without the package gets a skip; in CI a missing client fails.
requires_fastboot = pytest.mark.skipif(shutil.which("fastboot") is None and not os.environ.get("CI"),
                                       reason="Debian's fastboot package is not installed")


def run_fastboot(address: str, *args: str, timeout: int = 60) -> str:
    """Run `fastboot -s ADDRESS ARGS`, assert success, return what it printed."""
    result = subprocess.run(["timeout", str(timeout), "fastboot", "-s", address, *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stderr + result.stdout
