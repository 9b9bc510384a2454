"""Real tools from Debian packages that tests run as peers."""

import os
import shutil

import pytest


def requires_tool(command: str, package: str):
    """Outside CI a developer without the package gets a skip; in CI a missing tool fails the test."""
    return pytest.mark.skipif(shutil.which(command) is None and not os.environ.get("CI"),
                              reason=f"Debian's {package} package is not installed")
