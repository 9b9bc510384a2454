"""The delta part of the manifest is as strict as the rest: every field typed, bounded and accounted for."""

import pytest

from flasher.package.delta_manifest import MAX_WINDOW_SOURCE, MAX_WINDOW_TARGET, MAX_WINDOWS, max_patch_size
from flasher.package.errors import ManifestError
from flasher.package.manifest import canonical_json, parse_manifest

SHA = "ab" * 32
SOURCE_SHA = "cd" * 32


def window(**changes) -> dict:
    return {"source_offset": 0, "source_size": 4096, "source_sha256": SOURCE_SHA, "target_offset": 0,
            "target_size": 4096, "target_sha256": SHA, "patch_size": 100, "patch_sha256": SHA, **changes}


def patched(**changes) -> dict:
    delta = {"method": "patch", "source_build": "B130", "source_size": 8192, "source_sha256": SOURCE_SHA,
             "windows": [window(), window(target_offset=4096, source_offset=4096)]}
    delta.update(changes)
    return {"partition": "system", "slotted": True, "size": 8192, "sha256": SHA, "compression": "stored",
            "delta": delta}


def copied(**changes) -> dict:
    delta = {"method": "copy", "source_build": "B130", "source_size": 4096, "source_sha256": SHA, **changes}
    return {"partition": "boot", "slotted": True, "size": 4096, "sha256": SHA, "compression": "stored",
            "delta": delta}


def whole(**changes) -> dict:
    return {"partition": "vendor", "slotted": True, "size": 4096, "sha256": SHA, "compression": "deflate",
            "delta": {"method": "whole", "source_build": "B130", **changes}}


def manifest(*images) -> bytes:
    return canonical_json({
        "format_version": 1, "package_id": "P-B130-B131", "product": "P855A01", "hw_revisions": ["r1"],
        "build": "B131", "rollback_index": 8, "min_battery_mv": 0, "type": "delta",
        "created": "2026-11-26T12:00:00Z", "images": list(images) or [patched(), copied(), whole()]})


def test_a_delta_manifest_round_trips_canonically():
    parsed = parse_manifest(manifest())
    assert parsed.type == "delta" and parsed.source_build == "B130"
    system = parsed.image("system")
    assert system.delta.method == "patch" and system.archive_name == "patches/system.bsdiff"
    assert system.archive_size == 200 and system.delta.patch_offsets() == [0, 100]
    assert parsed.image("boot").archive_name is None
    assert parsed.image("vendor").archive_name == "images/vendor.img"
    assert parsed.to_bytes() == manifest()


def with_window(index: int = 0, **changes) -> dict:
    image = patched()
    image["delta"]["windows"][index].update(changes)
    return image


@pytest.mark.parametrize("image, message", [
    (patched(method="xdelta"), "method"),
    (patched(extra=1), "unknown fields extra"),
    (patched(source_build="../B130"), "source_build"),
    (patched(source_size=0), "source_size"),
    (patched(source_size=True), "source_size"),
    (patched(source_sha256="AB" * 32), "source_sha256"),
    (patched(windows=[]), "windows"),
    (patched(windows={}), "windows"),
    (patched(windows=[window()] * (MAX_WINDOWS + 1)), "windows"),
    (with_window(0, target_size=2048), "without gaps"),
    (with_window(1, target_offset=0), "without gaps"),
    (with_window(1, target_offset=8192), "without gaps"),
    (with_window(1, target_size=8192), "covers|windows cover"),
    (with_window(0, target_size=-4096), "target_size"),
    (with_window(0, target_size=MAX_WINDOW_TARGET + 1), "target_size"),
    (with_window(0, source_offset=-1), "source_offset"),
    (with_window(0, source_size=MAX_WINDOW_SOURCE + 1), "source_size"),
    (with_window(1, source_offset=4097), "past the end"),
    (with_window(0, patch_size=31), "patch_size"),
    (with_window(0, patch_size=max_patch_size(4096) + 1), "patch_size"),
    (with_window(0, patch_size=1.0), "patch_size"),
    (with_window(0, patch_sha256=None), "patch_sha256"),
    (with_window(0, unknown=0), "unknown fields unknown"),
    ({**patched(), "compression": "deflate"}, "stored"),
    (copied(source_sha256=SOURCE_SHA), "copy's source"),
    (copied(source_size=4097), "copy's source"),
    (copied(windows=[]), "unknown fields windows"),
    (whole(source_size=4096), "unknown fields source_size"),
    ({k: v for k, v in whole().items() if k != "delta"}, "image lacks delta"),
])
def test_malformed_delta_entries_are_refused(image, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(manifest(image))


def test_a_delta_package_has_one_source_build():
    with pytest.raises(ManifestError, match="one source build"):
        parse_manifest(manifest(patched(), whole(source_build="B129")))


def test_the_window_count_is_bounded_across_the_package():
    half = MAX_WINDOWS // 2 + 1
    images = []
    for name in ("system", "vendor"):
        image = patched(source_size=half * 4096,
                        windows=[window(target_offset=i * 4096, source_offset=i * 4096) for i in range(half)])
        images.append({**image, "partition": name, "size": half * 4096})
    with pytest.raises(ManifestError, match="at most"):
        parse_manifest(manifest(*images))


def test_a_full_package_carries_no_delta():
    value = {"format_version": 1, "package_id": "P-B131", "product": "P855A01", "hw_revisions": ["r1"],
             "build": "B131", "rollback_index": 8, "min_battery_mv": 0, "type": "full",
             "created": "2026-11-26T12:00:00Z", "images": [whole()]}
    with pytest.raises(ManifestError, match="unknown fields delta"):
        parse_manifest(canonical_json(value))
