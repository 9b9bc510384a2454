"""The stock AOSP client's `fastboot update` (Debian's 29.0.6) of a factory zip with
super_empty.img against the virtual android phone: it reboots to fastbootd, updates super
and resizes and flashes each logical partition; TSUF's update of the same zip (factory
images, system sparse as img2simg makes it), and of a signed package of the same images,
leaves the same partitions, super byte for byte included."""

import subprocess
import zipfile

import pytest

from flasher.package.build import PackageDescription, build_package
from flasher.update.session import Options
from flasher.update.updater import Updater
from tests.interop.aosp import requires_fastboot, run_fastboot
from tests.support.handsets import RunningHandset, android_profile, android_super_empty
from tests.support.packages import PRODUCT, make_images, make_keys
from tests.support.stations import bench_station

pytestmark = requires_fastboot

MiB = 1 << 20
SIZES = {"boot": 1 * MiB, "product": 1 * MiB + 3, "system": 5 * MiB + 4096 + 17, "vendor": 2 * MiB}


@pytest.fixture
def images(tmp_path):
    folder = make_images(tmp_path / "images", SIZES)
    (folder / "super_empty.img").write_bytes(android_super_empty())
    return folder


def _factory_zip(images, path):
    """system.img sparse, as factory images carry their large images."""
    sparse = path.parent / "system.sparse.img"
    subprocess.run(["img2simg", str(images / "system.img"), str(sparse)], check=True, timeout=60)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("android-info.txt", f"require board={PRODUCT}\n")
        for image in sorted(images.glob("*.img")):
            archive.write(sparse if image.name == "system.img" else image, image.name)
    return path


def _tsuf_update(images, factory, tmp_path, address, source):
    keys = make_keys(tmp_path)
    package = factory
    if source == "signed package":
        package = tmp_path / "package.zip"
        build_package(images, PackageDescription(hw_revisions=("10000",), build="B130", rollback_index=5,
                                                 product=PRODUCT), [keys.signing], package)
    with Updater(package, keys.trust_store, bench_station(tmp_path), unsigned_factory_images=True) as updater:
        updater.prepare()
        return updater.update([address], options=Options(return_timeout=20))[0]


@pytest.fixture
def phones(tmp_path):
    stock = RunningHandset(tmp_path / "stock-phone", android_profile())
    ours = RunningHandset(tmp_path / "tsuf-phone", android_profile())
    yield stock, ours
    stock.stop()
    ours.stop()


@pytest.mark.parametrize("source", ["factory zip", "signed package"])
def test_stock_update_and_tsuf_update_leave_the_same_partitions(images, phones, tmp_path, source):
    stock, ours = phones
    factory = _factory_zip(images, tmp_path / "factory.zip")
    output = run_fastboot(stock.address, "--slot", "b", "--skip-secondary", "update", str(factory), timeout=120)
    assert "Updating super partition" in output and "Resizing 'system_b'" in output, output
    report = _tsuf_update(images, factory, tmp_path, ours.address, source)
    assert report.result == "NOT_CONFIRMED", report.message  # no vbmeta states a build, no ADB over this link
    for stem in ("boot_b", "boot_a", "super"):  # super: metadata and every extent, byte for byte
        assert stock.partition(stem) == ours.partition(stem), stem
    dynamic = ours.handset.family.dynamic.super
    for name in ("system", "vendor", "product"):
        data = (images / f"{name}.img").read_bytes()
        assert dynamic.read_logical(f"{name}_b")[: len(data)] == data
    assert stock.handset.meta.active == ours.handset.meta.active == "b"


def test_without_skip_secondary_the_stock_client_empties_the_other_slot(images, phones, tmp_path):
    """29.0.6 resizes the partitions of `*_other` images to 0 even when the zip has none: the
    slot that ran loses system and vendor. TSUF never touches the slot it does not write."""
    stock, _ours = phones
    output = run_fastboot(stock.address, "--slot", "b", "update", str(_factory_zip(images, tmp_path / "f.zip")),
                          timeout=120)
    assert "Resizing 'system_a'" in output
    dynamic = stock.handset.family.dynamic.super
    assert dynamic.logical_size("system_a", 1) == 0 and dynamic.logical_size("vendor_a", 1) == 0
