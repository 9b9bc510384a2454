"""The one-folder bundle (packaging/tsuf.spec, packaging/build-bundle) runs on its own: its version,
libusb from the wheel, the demo updating virtual handsets headless, and the desktop app on X."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import libusb_package
import pytest

from flasher import __version__

from .conftest import bundle_env

LINKS = ("tcp", "usb", "udp", "serial")


def run(bundle, *args, env, timeout=120):
    return subprocess.run([str(bundle.executable), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_the_bundle_builds_into_a_runnable_folder(bundle):
    assert bundle.executable.is_file() and os.access(bundle.executable, os.X_OK)


def test_tsuf_version_from_the_bundle(bundle, tmp_path):
    result = run(bundle, "--version", env=bundle_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tsuf {__version__}"


def test_the_bundle_loads_its_own_libusb(bundle, tmp_path):
    wheel_library = libusb_package.get_library_path()
    bundled = [path for path in (bundle.folder / "_internal").iterdir() if path.name.startswith("libusb")]
    assert [path.name for path in bundled] == [wheel_library.name]
    assert bundled[0].read_bytes() == wheel_library.read_bytes()
    # The frozen loader looks only inside the bundle, so "loaded" means this copy was loaded.
    result = run(bundle, "doctor", env=bundle_env(tmp_path))
    assert re.search(r"^OK +libusb: libusb is loaded$", result.stdout, re.MULTILINE), result.stdout + result.stderr


def test_the_demo_updates_every_virtual_handset_headless(bundle, tmp_path):
    env = bundle_env(tmp_path)
    result = run(bundle, "demo", env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("VH")]
    assert [row[1] for row in rows] == [*LINKS, "usb"]  # and one more on USB with a locked bootloader
    for row in rows:
        assert row[3] == "B120->B130" and row[4] == "success", row
    assert [" ".join(row[6:]) for row in rows] == ["running B130 on slot b"] * len(LINKS) + [
        "running B130, installed through recovery (sideload over usb)"]
    assert f"{len(rows)} of {len(rows)} handset(s) updated" in result.stdout
    assert not list(Path(env["TMPDIR"]).iterdir()), "the demo left its handsets behind"


@pytest.fixture
def x_display():
    """A real X server (Xvfb) on a free display number."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0",
                               "1280x800x24"], pass_fds=(write_end,), stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        display = announced.readline().strip()
    assert display, "Xvfb did not start"
    yield f":{display}"
    server.terminate()
    server.wait(timeout=10)


def _catches(pid: int, number: int) -> bool:
    """Whether the process has installed its own handler for a signal (Linux: SigCgt in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught, 16) >> (number - 1) & 1)


def test_the_desktop_app_starts_on_x_and_closes_cleanly(bundle, tmp_path, x_display):
    env = bundle_env(tmp_path, DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    temp = Path(env["TMPDIR"])
    app = subprocess.Popen([str(bundle.executable), "gui", "--demo"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        # The app takes SIGTERM over once its window is shown and its demo handsets are being found
        # (app/main.py); waiting for that, not for a time, lets a slow machine take as long as it needs.
        deadline = time.monotonic() + 300  # only a hung start takes this long
        while not _catches(app.pid, signal.SIGTERM) and app.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.poll() is None, app.communicate()[0]
        assert _catches(app.pid, signal.SIGTERM), "the app never finished starting"
        assert list(temp.glob("tsuf-gui-demo-*")), "the app started without its demo handsets"
        app.send_signal(signal.SIGTERM)
        output = app.communicate(timeout=120)[0]
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, output
    assert not list(temp.glob("tsuf-gui-demo-*")), "closing left the demo handsets behind"
