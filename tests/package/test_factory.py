"""Reading factory zips: what is written, what is left out and why, and every refusal before a
handset is touched."""

import zipfile

import pytest

from flasher.package.android_info import AndroidInfoError
from flasher.lp.errors import MetadataInvalid
from flasher.package.errors import ArchiveError, ImageSizeMismatch, MissingImage, UnsafeEntryName, UnsignedImages
from flasher.package.factory import FactoryImages, NotFactoryImages, is_factory_zip
from flasher.package.fastboot_info import FactoryPlanUnsupported, FastbootInfoError
from flasher.sparse.writer import write_sparse
from tests.support.factory import FACTORY_SIZES, factory_zip
from tests.support.packages import PRODUCT, make_keys

PLAN = """version 1
flash boot
flash --apply-vbmeta vbmeta
reboot fastboot
update-super
flash --slot-other system system_other.img
flash vendor
flash system
if-wipe erase userdata
"""


def test_images_sizes_product_and_stated_build(tmp_path):
    path = factory_zip(tmp_path / "factory.zip", oem_key=make_keys(tmp_path).oem,
                       extra={"system_other.img": b"o" * 4096, "userdata.img": b"u" * 4096, "radio.txt": b"x"})
    assert is_factory_zip(path)
    with FactoryImages(path, user_said_yes=True) as factory:
        manifest = factory.manifest
        assert not manifest.signed and manifest.product == PRODUCT
        assert (manifest.build, manifest.rollback_index) == ("B130", 5)
        assert {entry.partition: entry.size for entry in manifest.partition_images if entry.partition != "vbmeta"} \
            == FACTORY_SIZES
        assert manifest.super_empty is not None
        assert set(factory.skipped) == {"system_other.img", "userdata.img"}
        copies = factory.extract_all_verified(tmp_path)
        hashed = {entry.partition: entry.sha256 for entry in factory.manifest.images}
    images = tmp_path / "factory-images"
    assert copies["system"].read_bytes() == (images / "system.img").read_bytes()
    assert all(len(digest) == 64 for digest in hashed.values())


def test_without_a_vbmeta_the_build_and_rollback_index_are_not_stated(tmp_path):
    with FactoryImages(factory_zip(tmp_path / "f.zip"), user_said_yes=True) as factory:
        assert (factory.manifest.build, factory.manifest.rollback_index) == ("", None)


def test_a_sparse_image_is_written_expanded_and_sized_from_its_header(tmp_path):
    raw = bytes(8192) + b"\x01" * 4096 + bytes(16384)
    (tmp_path / "system.raw").write_bytes(raw)
    sparse = tmp_path / "system.simg"
    with open(sparse, "wb") as out:
        write_sparse(tmp_path / "system.raw", out)
    path = factory_zip(tmp_path / "f.zip", extra={"system.img": sparse.read_bytes()},
                       sizes={"boot": 4096})
    with FactoryImages(path, user_said_yes=True) as factory:
        assert factory.manifest.image("system").size == len(raw)
        copies = factory.extract_all_verified(tmp_path)
    assert copies["system"].read_bytes() == raw


def test_fastboot_info_chooses_the_images_and_their_order(tmp_path):
    path = factory_zip(tmp_path / "f.zip", oem_key=make_keys(tmp_path).oem,
                       extra={"fastboot-info.txt": PLAN, "system_other.img": b"o" * 4096})
    with FactoryImages(path, user_said_yes=True) as factory:
        assert [entry.partition for entry in factory.manifest.images] == ["boot", "vbmeta", "vendor", "system",
                                                                          "super_empty"]
        assert factory.skipped == {"system_other.img": "for the other slot, which keeps the build that runs now"}


def test_nothing_is_opened_without_the_users_word(tmp_path):
    with pytest.raises(UnsignedImages):
        FactoryImages(factory_zip(tmp_path / "f.zip"), user_said_yes=False)


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("entries, refusal", [
    ({"boot.img": b"b" * 10}, NotFactoryImages),                                   # no android-info.txt
    ({"android-info.txt": "require board=x\n"}, NotFactoryImages),                # no image
    ({"android-info.txt": "flash boot\n", "boot.img": b"b"}, AndroidInfoError),    # a broken requirement
    ({"android-info.txt": "board=x\n", "../boot.img": b"b"}, UnsafeEntryName),
    ({"android-info.txt": "board=x\n", "Boot Image.img": b"b"}, NotFactoryImages),
    ({"android-info.txt": "board=x\n", "boot.img": b"b", "super_empty.img": b"\0" * 8192}, MetadataInvalid),
    ({"android-info.txt": "board=x\n", "boot.img": b"b", "fastboot-info.txt": "version 1\nerase misc\n"},
     FactoryPlanUnsupported),
    ({"android-info.txt": "board=x\n", "boot.img": b"b", "fastboot-info.txt": "version 1\nflash dtbo\n"},
     MissingImage),
    ({"android-info.txt": "board=x\n", "boot.img": b"b", "fastboot-info.txt": "version 9\nflash boot\n"},
     FastbootInfoError),
    ({"android-info.txt": "board=x\n", "boot.img": b"b", "fastboot-info.txt": "version 1\nformat boot\n"},
     FastbootInfoError),
    ({"android-info.txt": "board=x\n", "system.img": b"\x3a\xff\x26\xed" + b"\0" * 40}, ArchiveError),
])
def test_broken_or_hostile_factory_zips_are_refused_by_name(tmp_path, entries, refusal):
    with pytest.raises(refusal):
        FactoryImages(_zip(tmp_path / "f.zip", entries), user_said_yes=True)


def test_an_image_other_than_its_entry_declares_is_refused_and_no_copy_is_left(tmp_path):
    path = _zip(tmp_path / "f.zip", {"android-info.txt": "board=x\n", "boot.img": bytes(range(256)) * 20})
    data = bytearray(path.read_bytes())
    # the central directory's size of boot.img, 5000, becomes 4000: the entry gives more
    central = data.rfind(b"PK\x01\x02")
    data[central:] = data[central:].replace((5120).to_bytes(4, "little"), (4000).to_bytes(4, "little"), 1)
    path.write_bytes(bytes(data))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises((ImageSizeMismatch, ArchiveError)):
        with FactoryImages(path, user_said_yes=True) as factory:
            factory.extract_all_verified(work)
    assert list(work.iterdir()) == []
