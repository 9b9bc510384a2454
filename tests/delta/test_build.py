"""build_delta_package(): from folders or full packages, the same bytes on one worker or many."""

import os
import zipfile
from datetime import datetime, timezone

import pytest

from flasher.delta.build import build_delta_package
from flasher.package.archive import PackageReader
from flasher.package.build import PackageDescription, build_package
from flasher.package.errors import BuildError, UntrustedPackage

from .conftest import METHODS, TARGET, WINDOW

CREATED = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_every_partition_gets_the_expected_method_and_the_package_is_smaller(delta_build, tmp_path):
    result = build_delta_package(delta_build.source, delta_build.target, [delta_build.key], tmp_path / "d.zip",
                                 description=TARGET, source_build="B130", workers=1, window_size=WINDOW)
    assert result.methods == METHODS
    assert result.package_bytes < result.full_bytes / 2
    assert result.manifest.package_id == "P855A01-B130-B131"
    with zipfile.ZipFile(tmp_path / "d.zip") as archive:
        names = set(archive.namelist())
        assert archive.getinfo("patches/system.bsdiff").compress_type == zipfile.ZIP_STORED
    assert {"images/vendor.img", "images/radio.img", "patches/system.bsdiff"} <= names
    assert not any("boot" in name for name in names)  # a copy carries nothing


def test_parallel_and_serial_builds_give_the_same_package(delta_build, tmp_path):
    packages = []
    for workers in (1, 2):
        path = tmp_path / f"w{workers}.zip"
        build_delta_package(delta_build.source, delta_build.target, [delta_build.key], path, description=TARGET,
                            source_build="B130", workers=workers, window_size=WINDOW, created=CREATED)
        packages.append(path.read_bytes())
    assert packages[0] == packages[1]


def test_two_full_packages_give_a_delta_that_carries_their_builds(delta_build, tmp_path):
    old, new = tmp_path / "old.zip", tmp_path / "new.zip"
    source_description = PackageDescription(product="P855A01", hw_revisions=("r1",), build="B130", rollback_index=7)
    build_package(delta_build.source, source_description, [delta_build.key], old)
    build_package(delta_build.target, TARGET, [delta_build.key], new)
    result = build_delta_package(old, new, [delta_build.key], tmp_path / "d.zip", trust_store=delta_build.store,
                                 window_size=WINDOW)
    manifest = result.manifest
    assert (manifest.source_build, manifest.build, manifest.rollback_index) == ("B130", "B131", 8)
    with PackageReader(tmp_path / "d.zip", delta_build.store) as reader:
        reader.verify_all()


def test_input_packages_are_verified(delta_build, tmp_path):
    from flasher.package.keys import generate_key
    stranger = tmp_path / "stranger.zip"
    build_package(delta_build.target, TARGET, [generate_key()], stranger)
    with pytest.raises(UntrustedPackage):
        build_delta_package(delta_build.source, stranger, [delta_build.key], tmp_path / "d.zip",
                            source_build="B130", trust_store=delta_build.store)
    with pytest.raises(BuildError, match="delta package"):
        build_delta_package(delta_build.source, delta_build.package, [delta_build.key], tmp_path / "d.zip",
                            source_build="B130", trust_store=delta_build.store)
    assert not (tmp_path / "d.zip").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"description": TARGET}, "source build"),
    ({"source_build": "B130"}, "description"),
])
def test_folders_need_a_description_and_a_source_build(delta_build, tmp_path, kwargs, message):
    with pytest.raises(BuildError, match=message):
        build_delta_package(delta_build.source, delta_build.target, [delta_build.key], tmp_path / "d.zip", **kwargs)
    assert os.listdir(tmp_path) == []


def test_oem_key_adds_boot_metadata_for_the_target(delta_build, tmp_path):
    from flasher.package.bootmeta import parse_and_verify_boot_metadata
    from flasher.package.keys import generate_key
    oem = generate_key()
    result = build_delta_package(delta_build.source, delta_build.target, [delta_build.key], tmp_path / "d.zip",
                                 description=TARGET, source_build="B130", oem_key=oem, window_size=WINDOW)
    assert result.methods["vbmeta"] == "whole"
    with PackageReader(tmp_path / "d.zip", delta_build.store) as reader:
        metadata = reader.extract_verified("vbmeta", tmp_path).read_bytes()
    boot = parse_and_verify_boot_metadata(metadata, oem.public_key)
    assert boot.image("system").sha256 == result.manifest.image("system").sha256


def test_super_empty_goes_whole_and_unslotted_even_when_unchanged(delta_build, tmp_path):
    from tests.support.handsets import android_super_empty
    source, target = tmp_path / "source", tmp_path / "target"
    for folder in (source, target):
        folder.mkdir()
        (folder / "boot.img").write_bytes(delta_build.target_bytes("boot"))
        (folder / "super_empty.img").write_bytes(android_super_empty())
    build_delta_package(source, target, [delta_build.key], tmp_path / "d.zip", description=TARGET,
                        source_build="B130", workers=1)
    with PackageReader(tmp_path / "d.zip", delta_build.store) as reader:
        layout = reader.manifest.super_empty
        assert (layout.slotted, layout.delta.method) == (False, "whole")
        assert reader.manifest.image("boot").delta.method == "copy"
