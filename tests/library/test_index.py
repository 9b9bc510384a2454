"""The firmware library: folders and the firmware cache, indexed by what each trusted manifest says."""

import json
import os
import shutil

import pytest

from flasher.cache.store import FirmwareCache
from flasher.library.index import Library, LibraryError
from tests.support.locked import station_keys
from tests.support.packages import make_keys, make_ota_package, make_package


@pytest.fixture
def shelf(releases, tmp_path):
    """A repair shop's folder: the published packages, a foreign one, and files that are no packages."""
    folder = shutil.copytree(releases.folder, tmp_path / "shelf")
    make_package(folder / "foreign", make_keys(tmp_path / "stranger"), build="B999")
    (folder / "notes.txt").write_text("B130 for the P855")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    return folder


@pytest.fixture
def library(tmp_path):
    return Library(tmp_path / "home" / "library.json", FirmwareCache(tmp_path / "cache"))


def test_a_scan_indexes_every_trusted_package_by_its_manifest(releases, shelf, library):
    library.add(shelf)
    result = library.scan(releases.keys.trust_store)
    found = {(p.build, p.type, p.source_build) for p in result.packages}
    assert found == {("B110", "full", None), ("B120", "full", None), ("B130", "full", None),
                     ("B130", "delta", "B120")}
    assert all(p.product == "tsuf_zte_ab" and p.hw_revisions == ("10000",) for p in result.packages)
    skipped = dict(result.skipped)
    assert "signed only by keys not in the trust store" in skipped[str(next((shelf / "foreign").glob("*.zip")))]
    assert str(shelf / "broken.zip") in skipped
    assert not any(path.endswith("notes.txt") for path in skipped)
    assert Library(library.index_path).packages() == result.packages  # kept for the next run


def test_the_index_says_how_each_package_installs(tmp_path, library):
    keyring = station_keys(tmp_path)  # trusts the release key and the OEM key
    shelf = tmp_path / "ota-shelf"
    make_package(shelf, keyring, build="B130")
    make_ota_package(shelf, keyring, build="B130")
    library.add(shelf)
    assert sorted(p.install for p in library.scan(keyring.trust_store).packages) == ["fastboot", "sideload"]
    # An index written before packages said how they install: those entries are read again.
    index = json.loads(library.index_path.read_text())
    for item in index["packages"]:
        del item["install"]
    library.index_path.write_text(json.dumps(index))
    assert library.packages() == []
    assert sorted(p.install for p in library.scan(keyring.trust_store).packages) == ["fastboot", "sideload"]


def test_packages_in_the_firmware_cache_count_and_images_do_not(releases, library, tmp_path):
    image = tmp_path / "boot.img"
    image.write_bytes(os.urandom(4096))
    library.cache.add(image)
    sha256 = library.cache.add(releases.delta)
    (package,) = library.scan(releases.keys.trust_store).packages
    assert package.path.endswith(sha256) and package.source_build == "B120"


def test_a_changed_file_drops_out_until_the_next_scan(releases, shelf, library):
    library.add(shelf)
    library.scan(releases.keys.trust_store)
    target = shelf / releases.full["B110"].name
    shutil.copy(releases.full["B120"], target)  # same name, another package
    assert {p.build for p in library.packages() if p.path == str(target)} == set()
    rescanned = library.scan(releases.keys.trust_store).packages
    assert {p.build for p in rescanned if p.path == str(target)} == {"B120"}


def test_folders_are_added_once_and_removed_with_their_packages(releases, shelf, library, tmp_path):
    assert library.add(shelf) == shelf
    library.add(shelf)
    assert library.folders() == [shelf]
    library.scan(releases.keys.trust_store)
    library.remove(shelf)
    assert library.folders() == [] and library.packages() == []
    with pytest.raises(LibraryError, match="not a library folder"):
        library.remove(shelf)
    with pytest.raises(LibraryError, match="not a folder"):
        library.add(tmp_path / "nowhere")


def test_an_unreadable_index_is_named(library):
    library.index_path.parent.mkdir(parents=True)
    library.index_path.write_text("[1, 2")
    with pytest.raises(LibraryError, match="unreadable library index") as unreadable:
        library.folders()
    assert "Delete" in unreadable.value.hint
