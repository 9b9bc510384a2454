"""Version 2 patch windows in a manifest: every operation and extent is bounded before anything is read or written."""

import copy
import json
import zipfile

import pytest

from flasher.package.archive import PackageReader
from flasher.package.delta_manifest import MAX_OPS, MAX_REFERENCE_EXTENTS, MAX_WINDOW_OPS, MAX_WINDOW_SOURCE
from flasher.package.errors import ManifestError
from flasher.package.manifest import canonical_json, parse_manifest

from .conftest import rewrite_package


@pytest.fixture(scope="module")
def signed(delta_build) -> dict:
    with zipfile.ZipFile(delta_build.package) as archive:
        return json.loads(archive.read("manifest.json"))


def system_delta(manifest: dict) -> dict:
    return next(image for image in manifest["images"] if image["partition"] == "system")["delta"]


def diffed_window(delta: dict) -> dict:
    """A window that has copy, fill and diff operations and a reference."""
    return next(w for w in delta["windows"] if w["reference"] and {op[0] for op in w["ops"]} == {"copy", "fill", "diff"})


def first_op(window: dict, kind: str) -> list:
    return next(op for op in window["ops"] if op[0] == kind)


def copy_past_the_end(delta):
    first_op(diffed_window(delta), "copy")[1] = delta["source_size"] - 1


def copy_before_the_start(delta):
    first_op(diffed_window(delta), "copy")[1] = -4096


def copy_of_a_huge_length(delta):
    window = diffed_window(delta)
    first_op(window, "copy")[2] = 1 << 40


def op_of_no_length(delta):
    window = diffed_window(delta)
    first_op(window, "fill")[1] = 0


def ops_that_overrun_the_window(delta):
    window = diffed_window(delta)
    first_op(window, "fill")[1] += 4096


def ops_that_fall_short(delta):
    window = diffed_window(delta)
    fill = first_op(window, "fill")
    fill[1] -= 1


def unknown_op(delta):
    diffed_window(delta)["ops"][0] = ["xor", 4096]


def op_with_too_many_values(delta):
    first_op(diffed_window(delta), "diff").append(0)


def bad_fill_pattern(delta):
    first_op(diffed_window(delta), "fill")[2] = "000000"


def too_many_ops_in_a_window(delta):
    window = diffed_window(delta)
    window["ops"] = [["fill", 1, "00000000"]] * (MAX_WINDOW_OPS + 1)


def too_many_ops_in_the_image(delta):
    per_window = MAX_OPS // len(delta["windows"]) + 1
    for window in delta["windows"]:
        window.update(ops=[["diff", 1]] * (per_window - 1) + [["diff", window["target_size"] - per_window + 1]],
                      reference=[[0, 4096]], patch_size=max(window["patch_size"], 32))


def reference_past_the_end(delta):
    diffed_window(delta)["reference"] = [[delta["source_size"] - 10, 11]]


def overlapping_reference(delta):
    diffed_window(delta)["reference"] = [[0, 8192], [4096, 8192]]


def reference_out_of_order(delta):
    diffed_window(delta)["reference"] = [[8192, 4096], [0, 4096]]


def empty_reference_extent(delta):
    diffed_window(delta)["reference"] = [[0, 0]]


def too_many_reference_extents(delta):
    diffed_window(delta)["reference"] = [[2 * i, 1] for i in range(MAX_REFERENCE_EXTENTS + 1)]


def reference_without_diff(delta):
    window = next(w for w in delta["windows"] if not w["reference"]) if any(
        not w["reference"] for w in delta["windows"]) else diffed_window(delta)
    window.update(ops=[["fill", window["target_size"], "00000000"]], patch_size=0, reference=[[0, 4096]])


def patch_without_diff(delta):
    window = diffed_window(delta)
    window.update(ops=[["fill", window["target_size"], "00000000"]], reference=[])


def diff_without_patch(delta):
    diffed_window(delta)["patch_size"] = 0


def overlapping_windows(delta):
    delta["windows"][1]["target_offset"] -= 4096


def unknown_version(delta):
    delta["version"] = 3


def version_one_spelled_out(delta):
    delta["version"] = 1


def version_two_fields_without_version(delta):
    del delta["version"]


HOSTILE = {
    copy_past_the_end: "copy operation reads past the end",
    copy_before_the_start: "offset must be an integer of at least 0",
    copy_of_a_huge_length: "length must be 1 to",
    op_of_no_length: "length must be 1 to",
    ops_that_overrun_the_window: "operations make",
    ops_that_fall_short: "operations make",
    unknown_op: "operation must be a list starting with one of",
    op_with_too_many_values: "diff operation has 1 values, not 2",
    bad_fill_pattern: "fill pattern",
    too_many_ops_in_a_window: f"ops must be a list of 1 to {MAX_WINDOW_OPS} items",
    too_many_ops_in_the_image: f"at most {MAX_OPS} are allowed",
    reference_past_the_end: "reference extent reads past the end",
    overlapping_reference: "reference extents overlap",
    reference_out_of_order: "overlap or are out of order",
    empty_reference_extent: "length at least 1",
    too_many_reference_extents: f"reference must be a list of 0 to {MAX_REFERENCE_EXTENTS} items",
    reference_without_diff: "reference without diff operations",
    patch_without_diff: "patch_size must be an integer from 0 to 0",
    diff_without_patch: "patch_size must be an integer from 32",
    overlapping_windows: "without gaps",
    unknown_version: "delta version 3 is not supported",
    version_one_spelled_out: "delta version 1 is not supported",
    version_two_fields_without_version: "window lacks source_offset",
}


@pytest.mark.parametrize("change", HOSTILE, ids=[change.__name__ for change in HOSTILE])
def test_hostile_block_windows_are_refused_by_name(signed, change):
    manifest = copy.deepcopy(signed)
    change(system_delta(manifest))
    with pytest.raises(ManifestError, match=HOSTILE[change]):
        parse_manifest(canonical_json(manifest))


def test_a_reference_larger_than_a_window_source_is_refused(signed):
    manifest = copy.deepcopy(signed)
    delta = system_delta(manifest)
    delta["source_size"] = 2 * MAX_WINDOW_SOURCE
    diffed_window(delta)["reference"] = [[0, MAX_WINDOW_SOURCE], [MAX_WINDOW_SOURCE, 1]]
    with pytest.raises(ManifestError, match=f"at most {MAX_WINDOW_SOURCE} are allowed"):
        parse_manifest(canonical_json(manifest))


def test_the_signed_manifest_parses_and_keeps_its_bytes(signed):
    parsed = parse_manifest(canonical_json(signed))
    delta = parsed.image("system").delta
    assert delta.version == 2
    assert parsed.to_bytes() == canonical_json(signed)


@pytest.mark.parametrize("change", [copy_past_the_end, overlapping_reference, too_many_ops_in_a_window])
def test_a_package_with_a_hostile_window_does_not_open(delta_build, tmp_path, change):
    def hostile(manifest, entries):
        change(system_delta(manifest))
    package = rewrite_package(delta_build.package, tmp_path / "hostile.zip", delta_build.key, hostile)
    with pytest.raises(ManifestError, match=HOSTILE[change]):
        PackageReader(package, delta_build.store)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hostile.zip"]
