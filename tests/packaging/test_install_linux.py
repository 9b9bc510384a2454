"""packaging/install-linux: the bundle, the `tsuf` command, the desktop entry, the icon and the udev
rules land where Linux looks for them; a second run changes nothing; uninstall removes them all;
a refused install writes nothing."""

import os
import subprocess
from pathlib import Path

import pytest

from flasher import __version__

from .conftest import ROOT, bundle_env

RULES = "51-tsuf-android.rules"


def install(bundle, *args, env):
    return subprocess.run([str(bundle.folder / "install-linux"), *args], capture_output=True, text=True,
                          env=env, timeout=120)


def files_under(folder: Path) -> dict[str, bytes | str]:
    """Every file (its bytes) and link (its target) under `folder`, the bundle's own files left out."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if "opt/tsuf/" in path.as_posix():
            continue
        if path.is_symlink():
            found[str(path.relative_to(folder))] = os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


def desktop_entry(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def assert_valid_desktop_entry(path: Path) -> None:
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def assert_launcher_runs(command: Path, env) -> None:
    result = subprocess.run([str(command), "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"tsuf {__version__}", result.stderr


def test_the_source_desktop_entry_is_valid():
    assert_valid_desktop_entry(ROOT / "resources" / "tsuf.desktop")


def test_install_into_a_prefix_is_complete_repeatable_and_removable(bundle, tmp_path):
    env, prefix = bundle_env(tmp_path), tmp_path / "root"
    first = install(bundle, "--prefix", str(prefix), env=env)
    assert first.returncode == 0, first.stderr

    command = prefix / "bin" / "tsuf"
    assert command.is_symlink() and Path(os.readlink(command)) == prefix / "opt" / "tsuf" / "tsuf"
    assert_launcher_runs(command, env)
    entry_path = prefix / "share" / "applications" / "tsuf.desktop"
    assert_valid_desktop_entry(entry_path)
    entry = desktop_entry(entry_path)
    assert entry["Exec"] == f'"{command}" gui %f' and entry["TryExec"] == str(command)
    assert entry["Icon"] == "tsuf"
    icon = prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / "tsuf.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "icons" / "tsuf.svg").read_bytes()
    rules = prefix / "etc" / "udev" / "rules.d" / RULES
    assert rules.read_bytes() == (ROOT / "resources" / "udev" / RULES).read_bytes()

    installed = files_under(prefix)
    again = install(bundle, "--prefix", str(prefix), env=env)
    assert again.returncode == 0, again.stderr
    assert files_under(prefix) == installed
    assert_launcher_runs(command, env)

    # The installed copy of the script removes everything, itself included.
    removed = subprocess.run([str(prefix / "opt" / "tsuf" / "install-linux"), "--prefix", str(prefix),
                              "--uninstall"], capture_output=True, text=True, env=env, timeout=60)
    assert removed.returncode == 0, removed.stderr
    assert [path for path in prefix.rglob("*") if not path.is_dir()] == []
    assert not (prefix / "opt" / "tsuf").exists()


def test_a_user_install_follows_xdg_and_needs_no_root(bundle, tmp_path):
    home, data = tmp_path / "home", tmp_path / "xdg-data"
    home.mkdir()
    env = bundle_env(tmp_path, HOME=str(home), XDG_DATA_HOME=str(data))
    result = install(bundle, "--user", env=env)
    assert result.returncode == 0, result.stderr

    command = home / ".local" / "bin" / "tsuf"
    assert_launcher_runs(command, env)
    assert (home / ".local" / "opt" / "tsuf" / "tsuf").is_file()
    assert desktop_entry(data / "applications" / "tsuf.desktop")["Exec"] == f'"{command}" gui %f'
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "tsuf.svg").is_file()
    # A user cannot install udev rules: the script says how to, with the installed file's path.
    rules = home / ".local" / "opt" / "tsuf" / "_internal" / "resources" / "udev" / RULES
    assert rules.is_file() and f"sudo install -m 644 {rules} /etc/udev/rules.d/" in result.stdout

    removed = install(bundle, "--user", "--uninstall", env=env)
    assert removed.returncode == 0, removed.stderr
    left = [path.name for path in [*home.rglob("*"), *data.rglob("*")] if not path.is_dir()]
    assert set(left) <= {"mimeinfo.cache"}  # the desktop database, now without TSUF


def test_a_folder_that_is_not_a_bundle_is_refused_before_any_write(tmp_path):
    env, prefix = bundle_env(tmp_path), tmp_path / "root"
    not_a_bundle = tmp_path / "empty"
    not_a_bundle.mkdir()
    result = subprocess.run([str(ROOT / "packaging" / "install-linux"), "--prefix", str(prefix),
                             "--bundle", str(not_a_bundle)], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "is not a TSUF bundle" in result.stderr and "packaging/build-bundle" in result.stderr
    assert not prefix.exists()


def test_a_tsuf_command_that_is_not_ours_is_left_alone(bundle, tmp_path):
    env, prefix = bundle_env(tmp_path), tmp_path / "root"
    (prefix / "bin").mkdir(parents=True)
    other = prefix / "bin" / "tsuf"
    other.write_text("#!/bin/sh\necho another tsuf\n")
    result = install(bundle, "--prefix", str(prefix), env=env)
    assert result.returncode == 1
    assert f"{other} exists and is not TSUF's link" in result.stderr
    assert other.read_text() == "#!/bin/sh\necho another tsuf\n"
    assert sorted(path.name for path in prefix.rglob("*")) == ["bin", "tsuf"]


@pytest.mark.parametrize("args, message", [
    (["--prefix"], "--prefix needs a folder"),
    (["--user", "--prefix", "somewhere"], "give only one of --user, --system and --prefix"),
    (["--frobnicate"], "unknown argument: --frobnicate"),
])
def test_bad_arguments_are_named_and_exit_2(args, message, tmp_path):
    result = subprocess.run([str(ROOT / "packaging" / "install-linux"), *args], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 2
    assert f"install-linux: {message}" in result.stderr
    assert not list(tmp_path.iterdir())
