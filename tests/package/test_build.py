import json
import zipfile
from datetime import datetime, timezone

import pytest

from flasher.package.archive import PackageReader
from flasher.package.bootmeta import parse_and_verify_boot_metadata
from flasher.package.build import PackageDescription, build_package, load_description
from flasher.package.errors import BuildError
from flasher.sparse import write_sparse

from .conftest import DESCRIPTION, entries_of, write_images

CREATED = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_folder_build_round_trip(tmp_path, release_key, store):
    images = write_images(tmp_path / "images")
    manifest = build_package(tmp_path / "images", DESCRIPTION, [release_key], tmp_path / "p.zip", created=CREATED)
    assert (manifest.product, manifest.build, manifest.rollback_index, manifest.min_battery_mv) == \
        ("P855A01", "B130", 7, 3600)
    assert manifest.package_id == "P855A01-B130" and manifest.created == "2026-11-26T12:00:00Z"
    assert {e.partition: e.slotted for e in manifest.images} == {"boot": True, "misc": False, "system": True}
    entries = entries_of(tmp_path / "p.zip")
    assert entries["manifest.json"] == manifest.to_bytes()
    assert set(entries) == {"manifest.json", f"signatures/{release_key.key_id}.sig",
                            "images/boot.img", "images/misc.img", "images/system.img"}
    with PackageReader(tmp_path / "p.zip", store) as reader:
        copies = reader.extract_all_verified(tmp_path)
    assert {name: path.read_bytes() for name, path in copies.items()} == images


def test_the_same_inputs_build_the_same_bytes(tmp_path, release_key):
    write_images(tmp_path / "images")
    for name in ("one.zip", "two.zip"):
        build_package(tmp_path / "images", DESCRIPTION, [release_key], tmp_path / name, created=CREATED)
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_sparse_images_are_stored_raw(tmp_path, release_key, store):
    raw = bytes(64 * 1024) + b"\x5a" * 8192 + bytes(4096)
    (tmp_path / "raw.img").write_bytes(raw)
    (tmp_path / "images").mkdir()
    with open(tmp_path / "images" / "system.img", "wb") as sparse:
        write_sparse(tmp_path / "raw.img", sparse)
    assert (tmp_path / "images" / "system.img").read_bytes() != raw
    manifest = build_package(tmp_path / "images", DESCRIPTION, [release_key], tmp_path / "p.zip")
    assert manifest.image("system").size == len(raw)
    with PackageReader(tmp_path / "p.zip", store) as reader:
        assert reader.extract_verified("system", tmp_path).read_bytes() == raw


def test_several_keys_sign_the_same_manifest(tmp_path, release_key, other_key):
    write_images(tmp_path / "images")
    build_package(tmp_path / "images", DESCRIPTION, [release_key, other_key], tmp_path / "p.zip")
    names = {n for n in entries_of(tmp_path / "p.zip") if n.startswith("signatures/")}
    assert names == {f"signatures/{release_key.key_id}.sig", f"signatures/{other_key.key_id}.sig"}


def test_oem_key_adds_boot_metadata_for_the_slot(tmp_path, release_key, other_key, store):
    write_images(tmp_path / "images")
    manifest = build_package(tmp_path / "images", DESCRIPTION, [release_key], tmp_path / "p.zip", oem_key=other_key)
    assert manifest.image("vbmeta").slotted
    with PackageReader(tmp_path / "p.zip", store) as reader:
        metadata = parse_and_verify_boot_metadata(reader.extract_verified("vbmeta", tmp_path).read_bytes(),
                                                  other_key.public_key)
    assert metadata.rollback_index == 7 and metadata.build == "B130"
    # misc is unslotted: outside any slot, so outside the slot's boot metadata.
    assert {i.partition: (i.size, i.sha256) for i in metadata.images} == {
        e.partition: (e.size, e.sha256) for e in manifest.images if e.partition in ("boot", "system")}


def test_an_images_vbmeta_and_an_oem_key_conflict(tmp_path, release_key, other_key):
    write_images(tmp_path / "images")
    (tmp_path / "images" / "vbmeta.img").write_bytes(b"v" * 4096)
    with pytest.raises(BuildError, match="vbmeta"):
        build_package(tmp_path / "images", DESCRIPTION, [release_key], tmp_path / "p.zip", oem_key=other_key)


def _update_zip(path, android_info: str | None, images: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if android_info is not None:
            archive.writestr("android-info.txt", android_info)
        for name, data in images.items():
            archive.writestr(f"{name}.img", data)
        archive.writestr("fastboot-info.txt", "version 1\n")
    return path


ANDROID_INFO = "require board=P855A01\nrequire version-bootloader=B05|B06\nrequire version-baseband=M1\n"


def test_android_update_zip_takes_its_product_from_android_info(tmp_path, release_key, store):
    images = {"boot": b"b" * 8192, "system": bytes(16384)}
    source = _update_zip(tmp_path / "update.zip", ANDROID_INFO, images)
    description = PackageDescription(hw_revisions=("r1",), build="B131", rollback_index=8)
    manifest = build_package(source, description, [release_key], tmp_path / "p.zip")
    assert manifest.product == "P855A01"
    with PackageReader(tmp_path / "p.zip", store) as reader:
        assert {n: p.read_bytes() for n, p in reader.extract_all_verified(tmp_path).items()} == images


def test_android_update_zip_product_must_match(tmp_path, release_key):
    source = _update_zip(tmp_path / "update.zip", "require product=A1|A2\n", {"boot": b"b" * 4096})
    described = PackageDescription(hw_revisions=("r1",), build="B1", rollback_index=1)
    with pytest.raises(BuildError, match="A1 or A2"):
        build_package(source, described, [release_key], tmp_path / "p.zip")
    chosen = PackageDescription(hw_revisions=("r1",), build="B1", rollback_index=1, product="A2")
    assert build_package(source, chosen, [release_key], tmp_path / "p.zip").product == "A2"
    with pytest.raises(BuildError, match="android-info"):
        build_package(_update_zip(tmp_path / "bare.zip", None, {"boot": b"b"}), chosen, [release_key],
                      tmp_path / "q.zip")


def test_a_failed_build_leaves_nothing_behind(tmp_path, release_key):
    write_images(tmp_path / "images")
    (tmp_path / "images" / "empty.img").write_bytes(b"")
    (tmp_path / "out").mkdir()
    with pytest.raises(BuildError, match="empty"):
        build_package(tmp_path / "images", DESCRIPTION, [release_key], tmp_path / "out" / "p.zip")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("problem, match", [
    ({"name": "Bad Name.img"}, "partition name"),
    ({"keys": []}, "signing key"),
    ({"compression": "bzip2"}, "compression"),
    ({"description": PackageDescription(hw_revisions=("r1",), build="B1", rollback_index=1)}, "no product"),
])
def test_bad_inputs_are_refused(tmp_path, release_key, problem, match):
    write_images(tmp_path / "images")
    if "name" in problem:
        (tmp_path / "images" / problem["name"]).write_bytes(b"x")
    with pytest.raises(BuildError, match=match):
        build_package(tmp_path / "images", problem.get("description", DESCRIPTION),
                      problem.get("keys", [release_key]), tmp_path / "p.zip",
                      compression=problem.get("compression", "deflate"))


def test_description_file(tmp_path):
    path = tmp_path / "describe.json"
    path.write_text(json.dumps({"product": "P855A01", "hw_revisions": ["r1"], "build": "B130", "rollback_index": 7,
                                "min_battery_mv": 3600, "unslotted": ["misc"]}))
    assert load_description(path) == PackageDescription(product="P855A01", hw_revisions=("r1",), build="B130",
                                                        rollback_index=7, min_battery_mv=3600,
                                                        unslotted=frozenset({"misc"}))
    path.write_text(json.dumps({"hw_revisions": ["r1"], "build": "B130", "rollback_index": 7, "battery": 1}))
    with pytest.raises(BuildError, match="unknown fields battery"):
        load_description(path)
    path.write_text(json.dumps({"hw_revisions": ["r1"], "build": "B130"}))
    with pytest.raises(BuildError, match="lacks rollback_index"):
        load_description(path)
