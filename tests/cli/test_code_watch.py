"""The resident server's question before every command: has the code on disk changed?"""

import os
import sys

import pytest

from flasher.cli.code_watch import CodeWatch

# The kernel's notice where it gives one (Linux), and the walk that stands in elsewhere.
KINDS = [pytest.param(True, id="notified", marks=pytest.mark.skipif(not sys.platform.startswith("linux"),
                                                                    reason="inotify is Linux's")),
         pytest.param(False, id="walk")]


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "flasher"
    (root / "cli").mkdir(parents=True)
    (root / "__init__.py").write_text("__version__ = '1'\n")
    (root / "cli" / "main.py").write_text("def main():\n    return 0\n")
    (root / "cli" / "__pycache__").mkdir()
    return root


@pytest.fixture(params=KINDS)
def watch(request, package):
    watch = CodeWatch(str(package), use_inotify=request.param)
    assert watch.notified is request.param
    yield watch
    watch.close()


def test_nothing_touched_is_no_change(watch, package):
    assert not watch.changed()
    (package / "cli" / "main.py").read_text()
    assert not watch.changed()


def test_an_edited_source_file_is_a_change_and_stays_one(watch, package):
    # Another size too: the walk compares sizes and times, and a time may not move within a clock tick.
    (package / "cli" / "main.py").write_text("def main():\n    return 1000\n")
    assert watch.changed()
    assert watch.changed()


def test_a_new_source_file_in_a_folder_is_a_change(watch, package):
    (package / "cli" / "new_command.py").write_text("")
    assert watch.changed()


def test_a_source_file_saved_by_rename_is_a_change(watch, package):
    """Editors save to a temporary file, then rename it over the old one."""
    (package / "cli" / ".main.py.tmp").write_text("def main():\n    return 2000\n")
    os.replace(package / "cli" / ".main.py.tmp", package / "cli" / "main.py")
    assert watch.changed()


def test_bytecode_and_editor_files_are_no_change(watch, package):
    (package / "cli" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0" * 16)
    (package / "cli" / ".main.py.swp").write_bytes(b"swap")
    (package / "cli" / "notes.txt").write_text("x")
    assert not watch.changed()


def test_a_removed_folder_is_a_change(watch, package):
    (package / "cli" / "main.py").unlink()
    for stale in (package / "cli" / "__pycache__").iterdir():
        stale.unlink()
    (package / "cli" / "__pycache__").rmdir()
    (package / "cli").rmdir()
    assert watch.changed()
