"""A delta package's archive holds exactly the patches and images its manifest lists."""

import pytest

from flasher.package.archive import PackageReader
from flasher.package.errors import ExtraImage, ImageHashMismatch, ImageSizeMismatch, MissingImage

from .conftest import rewrite_package


def _drop(name):
    return lambda manifest, entries: entries.pop(name)


def _add(name, data=b"x" * 64):
    return lambda manifest, entries: entries.__setitem__(name, data)


def _shorten(name):
    return lambda manifest, entries: entries.__setitem__(name, entries[name][:-1])


@pytest.mark.parametrize("change, error", [
    (_drop("patches/system.bsdiff"), MissingImage),
    (_drop("images/vendor.img"), MissingImage),
    (_add("patches/boot.bsdiff"), ExtraImage),  # boot is a copy: it carries nothing
    (_add("images/boot.img"), ExtraImage),
    (_add("patches/other.bsdiff"), ExtraImage),
    (_shorten("patches/system.bsdiff"), ImageSizeMismatch),
])
def test_patches_and_images_must_match_the_manifest(delta_build, tmp_path, change, error):
    package = rewrite_package(delta_build.package, tmp_path / "changed.zip", delta_build.key, change)
    with pytest.raises(error):
        PackageReader(package, delta_build.store)


def test_verify_all_names_a_window_whose_patch_changed(delta_build, tmp_path):
    def flip(manifest, entries):
        data = bytearray(entries["patches/system.bsdiff"])
        data[-1] ^= 1
        entries["patches/system.bsdiff"] = bytes(data)
    package = rewrite_package(delta_build.package, tmp_path / "changed.zip", delta_build.key, flip)
    with PackageReader(package, delta_build.store) as reader, pytest.raises(ImageHashMismatch, match="window"):
        reader.verify_all()
