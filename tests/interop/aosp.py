"""Running Debian's AOSP `fastboot` and `adb` clients (29.0.6) from tests."""

import os
import socket
import subprocess

from tests.support.tools import requires_tool

requires_fastboot = requires_tool("fastboot", "fastboot")


def run_fastboot(address: str, *args: str, timeout: int = 60) -> str:
    """Run `fastboot -s ADDRESS ARGS`, assert success, return what it printed."""
    result = subprocess.run(["timeout", str(timeout), "fastboot", "-s", address, *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stderr + result.stdout


class StockAdb:
    """`adb` with its own server port and HOME, so it touches nothing of the user's."""

    def __init__(self, home):
        home.mkdir()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(port), "HOME": str(home)}

    def __call__(self, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["timeout", str(timeout), "adb", *args], env=self.env, capture_output=True, text=True)

    def stop(self) -> None:
        self("kill-server")
