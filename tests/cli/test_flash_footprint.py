"""What `tsuf flash` costs before the image moves: the questions it asks the handset, and
the modules it loads. A flash is a process of its own, so both are paid on every one."""

import os
import subprocess
import sys

import pytest

from flasher.virtual.families import family_named
from tests.cli.test_cli import tsuf
from tests.support.handsets import EmulatorProcess, small_profile

# What fastboot 29-35 asks before `flash system`: has-slot, max-download-size, is-logical, and
# current-slot where the partition has slots; before `flash system_a`, the first three.
STOCK_CLIENT_QUESTIONS = {("system", False): 3, ("system", True): 4, ("system_a", True): 3}


@pytest.mark.parametrize("family, partition", [
    ("reference", "system"), ("uboot", "system"), ("barebox", "system"), ("fastbootd", "system"),
    ("qualcomm", "system"), ("reference", "system_a"), ("fastbootd", "system_a"), ("qualcomm", "system_a")])
def test_flash_asks_no_more_than_the_stock_client_before_its_download(tmp_path, family, partition):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), family=family)
    image = tmp_path / "system.img"
    image.write_bytes(os.urandom(1 << 20))
    try:
        result = tsuf("-s", emulator.address, "-v", "flash", partition, str(image))
    finally:
        emulator.stop()
    sent = [line.partition("-> ")[2] for line in result.stderr.splitlines() if " -> " in line]
    first_download = next(index for index, command in enumerate(sent) if command.startswith("download:"))
    assert first_download <= STOCK_CLIENT_QUESTIONS[partition, family_named(family).slots], sent
    assert "getvar:all" not in sent  # a phone sends its listing a line at a time
    flashed = sent[first_download + 1].removeprefix("flash:")
    assert flashed in ("system", "system_a")
    assert (emulator.folder / f"{flashed}.img").read_bytes()[:1 << 20] == image.read_bytes()


def test_flash_loads_no_gui_signing_database_or_package_code(emulator_process, tmp_path):
    """Qt, cryptography, psycopg, SQLite and the package and update code are for other commands."""
    image = tmp_path / "boot.img"
    image.write_bytes(os.urandom(1 << 20))
    program = ("import sys\n"
               "from flasher.cli.main import main\n"
               f"code = main(['-s', {emulator_process.address!r}, 'flash', 'boot', {str(image)!r}])\n"
               "print('loaded:', *sorted(sys.modules))\n"
               "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.rpartition("loaded: ")[2].split())
    assert "flasher.fastboot" in loaded  # the list is the flash's own
    unwanted = ("PySide6", "shiboken6", "cryptography", "psycopg", "sqlite3", "_sqlite3", "hashlib",
                "flasher.package", "flasher.update", "flasher.history", "flasher.virtual.handset", "app")
    assert not {name for name in loaded for module in unwanted if name == module or name.startswith(module + ".")}
