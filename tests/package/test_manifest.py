import json

import pytest

from flasher.package.errors import ManifestError
from flasher.package.manifest import (MAX_ROLLBACK_INDEX, ImageEntry, Manifest, canonical_json,
                                      parse_manifest)

SHA = "ab" * 32


def manifest_dict(**changes) -> dict:
    value = {"format_version": 1, "package_id": "P855A01-B130", "product": "P855A01", "hw_revisions": ["r1"],
             "build": "B130", "rollback_index": 7, "min_battery_mv": 3600, "type": "full",
             "created": "2026-11-26T12:00:00Z",
             "images": [{"partition": "boot", "slotted": True, "size": 4096, "sha256": SHA, "compression": "deflate"}]}
    value.update(changes)
    return value


def image(**changes) -> dict:
    return {"partition": "boot", "slotted": True, "size": 4096, "sha256": SHA, "compression": "deflate", **changes}


def test_round_trip_is_canonical():
    manifest = parse_manifest(canonical_json(manifest_dict()))
    assert manifest.image("boot") == ImageEntry("boot", True, 4096, SHA, "deflate")
    assert manifest.to_bytes() == canonical_json(manifest_dict())
    assert b" " not in manifest.to_bytes()


def test_non_canonical_bytes_are_refused():
    with pytest.raises(ManifestError, match="canonical"):
        parse_manifest(json.dumps(manifest_dict(), indent=1).encode())


def test_duplicate_json_keys_are_refused():
    data = canonical_json(manifest_dict()).replace(b'"build":"B130"', b'"build":"B130","build":"B999"')
    with pytest.raises(ManifestError, match="duplicate"):
        parse_manifest(data)


@pytest.mark.parametrize("changes, message", [
    ({"signer": "x"}, "unknown fields signer"),
    ({"rollback_index": "7"}, "rollback_index"),
    ({"rollback_index": True}, "rollback_index"),
    ({"rollback_index": -1}, "rollback_index"),
    ({"min_battery_mv": 99999}, "min_battery_mv"),
    ({"format_version": 2}, "not supported"),
    ({"type": "incremental"}, "not supported"),
    ({"type": "delta"}, "image lacks delta"),
    ({"hw_revisions": []}, "hw_revisions"),
    ({"hw_revisions": ["r1", "r1"]}, "hw_revisions"),
    ({"product": "../etc"}, "product"),
    ({"created": "yesterday"}, "created"),
    ({"images": []}, "images"),
    ({"images": [image(), image()]}, "twice"),
    ({"images": [image(size=0)]}, "size"),
    ({"images": [image(size=1 << 40)]}, "size"),
    ({"images": [image(slotted=1)]}, "slotted"),
    ({"images": [image(sha256="AB" * 32)]}, "sha256"),
    ({"images": [image(compression="bzip2")]}, "compression"),
    ({"images": [{k: v for k, v in image().items() if k != "sha256"}]}, "lacks sha256"),
])
def test_schema_violations_are_refused(changes, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(canonical_json(manifest_dict(**changes)))


@pytest.mark.parametrize("name", ["../x", "a/b", "Boot", "x" * 37, "con", "", "-boot", "boot.img"])
def test_bad_partition_names_are_refused(name):
    with pytest.raises(ManifestError, match="partition name"):
        parse_manifest(canonical_json(manifest_dict(images=[image(partition=name)])))


def test_missing_field_is_refused():
    value = manifest_dict()
    del value["build"]
    with pytest.raises(ManifestError, match="lacks build"):
        parse_manifest(canonical_json(value))


def test_absurd_rollback_index_is_refused_but_the_bound_is_accepted():
    with pytest.raises(ManifestError, match="rollback_index"):
        parse_manifest(canonical_json(manifest_dict(rollback_index=(1 << 63) - 1)))
    assert parse_manifest(canonical_json(manifest_dict(rollback_index=MAX_ROLLBACK_INDEX))).rollback_index == (1 << 32) - 1


def test_a_builder_cannot_serialise_a_bad_manifest():
    bad = Manifest(package_id="p", product="P", hw_revisions=("r1",), build="B1", rollback_index=1 << 40,
                   min_battery_mv=0, created="2026-11-26T12:00:00Z", images=(ImageEntry("boot", True, 1, SHA),))
    with pytest.raises(ManifestError):
        bad.to_bytes()


def test_image_lookup_names_a_missing_partition():
    with pytest.raises(ManifestError, match="recovery"):
        parse_manifest(canonical_json(manifest_dict())).image("recovery")


def test_oversized_manifest_is_refused_before_parsing():
    with pytest.raises(ManifestError, match="at most"):
        parse_manifest(b" " * ((1 << 20) + 1))


def test_install_is_fastboot_when_absent_and_stays_absent():
    manifest = parse_manifest(canonical_json(manifest_dict()))
    assert manifest.install == "fastboot"
    assert b"install" not in manifest.to_bytes()


def test_a_sideload_manifest_says_so_in_the_signed_bytes():
    data = canonical_json(manifest_dict(install="sideload"))
    manifest = parse_manifest(data)
    assert manifest.install == "sideload"
    assert manifest.to_bytes() == data


@pytest.mark.parametrize("changes, why", [
    ({"install": "fastboot"}, "leave it out"),
    ({"install": "ota"}, "not 'sideload'"),
    ({"install": True}, "not 'sideload'"),
    ({"install": "sideload", "type": "delta"}, "full packages only"),
])
def test_other_install_values_are_refused(changes, why):
    with pytest.raises(ManifestError, match=why):
        parse_manifest(canonical_json(manifest_dict(**changes)))


def test_super_empty_is_the_layout_not_a_partition_and_is_bounded():
    layout = image(partition="super_empty", slotted=False, size=8192)
    manifest = parse_manifest(canonical_json(manifest_dict(images=[image(), layout])))
    assert manifest.super_empty.size == 8192
    assert [entry.partition for entry in manifest.partition_images] == ["boot"]
    for changes in ({"slotted": True}, {"size": 4096 + (1 << 20) + 1}):
        with pytest.raises(ManifestError, match="super_empty.img must be unslotted"):
            parse_manifest(canonical_json(manifest_dict(images=[image(), {**layout, **changes}])))
