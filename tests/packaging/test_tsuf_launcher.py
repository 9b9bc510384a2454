"""packaging/tsuf_launcher.py: the bundle's command line, and TSUF.app opened from Finder."""

import importlib.util

from .conftest import PACKAGING

spec = importlib.util.spec_from_file_location("tsuf_launcher", PACKAGING / "tsuf_launcher.py")
launcher = importlib.util.module_from_spec(spec)
spec.loader.exec_module(launcher)

APP = "/Applications/TSUF.app/Contents/MacOS/tsuf"


def test_the_command_line_passes_through():
    assert launcher.arguments(["demo", "--count", "2"], "/opt/tsuf/tsuf") == ["demo", "--count", "2"]
    assert launcher.arguments(["--version"], APP) == ["--version"]


def test_an_empty_command_line_outside_an_app_stays_empty_so_the_cli_prints_its_usage():
    assert launcher.arguments([], "/opt/tsuf/tsuf") == []


def test_the_app_opened_from_finder_starts_the_desktop_app():
    assert launcher.arguments([], APP) == ["gui"]
    assert launcher.arguments(["-psn_0_12345"], APP) == ["gui"]  # older macOS adds a process serial number
