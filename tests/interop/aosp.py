"""Running Debian's AOSP `fastboot` client (29.0.6) from tests."""

import subprocess

from tests.support.tools import requires_tool

requires_fastboot = requires_tool("fastboot", "fastboot")


def run_fastboot(address: str, *args: str, timeout: int = 60) -> str:
    """Run `fastboot -s ADDRESS ARGS`, assert success, return what it printed."""
    result = subprocess.run(["timeout", str(timeout), "fastboot", "-s", address, *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stderr + result.stdout
