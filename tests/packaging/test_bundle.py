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


def test_the_bundle_builds_in_reasonable_time(bundle):
    assert bundle.executable.is_file() and os.access(bundle.executable, os.X_OK)
    assert bundle.build_seconds < 300, f"the build took {bundle.build_seconds:.0f} s"


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


def test_the_desktop_app_starts_on_x_and_closes_cleanly(bundle, tmp_path, x_display):
    env = bundle_env(tmp_path, DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    temp = Path(env["TMPDIR"])
    app = subprocess.Popen([str(bundle.executable), "gui", "--demo"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        # The app makes its demo folder only once Qt has opened the display through the bundled xcb plugin.
        deadline = time.monotonic() + 60
        while not list(temp.glob("tsuf-gui-demo-*")) and app.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert app.poll() is None, app.communicate()[0]
        assert list(temp.glob("tsuf-gui-demo-*")), "the app did not start within a minute"
        time.sleep(2)  # the window is up and the demo handsets are being found
        assert app.poll() is None, app.communicate()[0]
        app.send_signal(signal.SIGTERM)
        output = app.communicate(timeout=60)[0]
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, output
    assert not list(temp.glob("tsuf-gui-demo-*")), "closing left the demo handsets behind"
