"""The bundle, built once per test session by packaging/build-bundle, and how to run it."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


@dataclass(frozen=True)
class Bundle:
    folder: Path

    @property
    def executable(self) -> Path:
        return self.folder / "tsuf"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Bundle:
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run([str(PACKAGING / "build-bundle"), str(dist)], capture_output=True, text=True,
                           env={**os.environ, "PYTHON": sys.executable}, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return Bundle(dist / "tsuf")


def bundle_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a user's fresh session looks like: a private TSUF home and temp folder, no TSUF or Qt settings."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("TSUF_", "QT_", "PYTHON")) and name != "DISPLAY"}
    home, temp = tmp_path / "tsuf-home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    return {**env, "TSUF_HOME": str(home), "TMPDIR": str(temp), **extra}
