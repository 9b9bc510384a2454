"""The virtual handset's profile: naming, resolution and checked JSON round trips."""

import json
from dataclasses import replace

import pytest

from flasher.errors import FlasherError
from flasher.virtual.profile import (
    GiB,
    KiB,
    MiB,
    DeviceProfile,
    Partition,
    ProfileError,
    UnknownPartition,
    default_profile,
    load_profile,
)


@pytest.fixture
def profile():
    return default_profile("ZTE0001")


def test_default_profile_looks_like_an_ab_zte_handset(profile):
    assert profile.serialno == "ZTE0001"
    assert profile.manufacturer == "ZTE"
    assert profile.usb_vendor_id == 0x19D2
    assert profile.slot_count == 2 and profile.slots == ("a", "b")
    assert profile.max_download_size == 256 * MiB
    assert profile.max_retry_count == 7
    sizes = {p.name: (p.size, p.slotted) for p in profile.partitions}
    assert sizes["boot"] == (64 * MiB, True)
    assert sizes["vbmeta"] == (64 * KiB, True)
    assert sizes["system"] == (4 * GiB, True)
    assert sizes["misc"] == (1 * MiB, False)
    assert sizes["userdata"] == (32 * GiB, False)


def test_storage_files_cover_both_slots_of_slotted_partitions(profile):
    files = dict(profile.storage_files())
    assert files["boot_a"] == files["boot_b"] == 64 * MiB
    assert files["misc"] == 1 * MiB
    assert "boot" not in files and "misc_a" not in files


@pytest.mark.parametrize(
    "name, current, expected",
    [
        ("boot_a", "b", ("boot", "a", "boot_a")),
        ("boot_b", "a", ("boot", "b", "boot_b")),
        ("boot", "a", ("boot", "a", "boot_a")),
        ("boot", "b", ("boot", "b", "boot_b")),
        ("vbmeta_system", "b", ("vbmeta_system", "b", "vbmeta_system_b")),
        ("vbmeta_system_a", "b", ("vbmeta_system", "a", "vbmeta_system_a")),
        ("misc", "b", ("misc", None, "misc")),
        ("userdata", "a", ("userdata", None, "userdata")),
    ],
)
def test_resolve_follows_fastboot_naming(profile, name, current, expected):
    part, slot, stem = profile.resolve(name, current)
    assert (part.name, slot, stem) == expected


@pytest.mark.parametrize(
    "name, says",
    [
        ("misc_a", "has no slots"),
        ("boot_c", "slot 'c' does not exist"),
        ("recovery", "no partition named 'recovery'"),
        ("boot_", "no partition named"),
        ("boot_ab", "no partition named"),
        ("", "no partition named"),
    ],
)
def test_unknown_names_are_named_errors_with_a_hint(profile, name, says):
    with pytest.raises(UnknownPartition) as info:
        profile.resolve(name, "a")
    assert says in str(info.value)
    assert isinstance(info.value, FlasherError) and info.value.hint


def test_partition_lookup(profile):
    assert profile.partition("vendor").size == 1 * GiB
    with pytest.raises(UnknownPartition):
        profile.partition("boot_a")  # lookup is by table name, not by slot


def test_non_ab_profile_has_only_bare_names(profile):
    flat = replace(
        profile,
        slot_count=0,
        partitions=(Partition("boot", 64 * MiB, False), Partition("misc", MiB, False)),
    )
    assert flat.slots == ()
    part, slot, stem = flat.resolve("boot", None)
    assert (part.name, slot, stem) == ("boot", None, "boot")
    with pytest.raises(UnknownPartition):
        flat.resolve("boot_a", None)


def test_round_trip_through_json(profile):
    text = json.dumps(profile.to_dict())
    data = json.loads(text)
    assert data["usb_vendor_id"] == "0x19d2"
    assert DeviceProfile.from_dict(data) == profile


def test_usb_ids_may_be_numbers_and_retry_count_has_a_default(profile):
    data = profile.to_dict()
    data["usb_vendor_id"] = 0x18D1
    del data["max_retry_count"]
    del data["partitions"][0]["fs_type"]
    loaded = DeviceProfile.from_dict(data)
    assert loaded.usb_vendor_id == 0x18D1
    assert loaded.max_retry_count == 7
    assert loaded.partitions[0].fs_type == "raw"


def _bad(mutate):
    data = default_profile("ZTE0001").to_dict()
    mutate(data)
    return data


def _part(data, name):
    return next(p for p in data["partitions"] if p["name"] == name)


@pytest.mark.parametrize(
    "mutate, says",
    [
        (lambda d: d["partitions"].append(dict(d["partitions"][0])), "listed twice"),
        (lambda d: _part(d, "boot").update(size=0), "positive multiple of 4096"),
        (lambda d: _part(d, "boot").update(size=-4096), "positive multiple of 4096"),
        (lambda d: _part(d, "boot").update(size=4097), "positive multiple of 4096"),
        (lambda d: _part(d, "boot").update(size="64M"), "positive multiple of 4096"),
        (lambda d: _part(d, "boot").update(fs_type="ntfs"), "fs_type"),
        (lambda d: _part(d, "boot").update(name="bo:ot"), "not valid"),
        (lambda d: _part(d, "boot").update(extra=1), "unknown field"),
        (lambda d: d["partitions"].append({"name": "boot_a", "size": 4096, "slotted": False}),
         "clash"),
        (lambda d: d["partitions"].append({"name": "MISC", "size": 4096, "slotted": False}),
         "clash"),
        (lambda d: d["partitions"].append({"name": "aux", "size": 4096, "slotted": False}),
         "Windows"),
        (lambda d: d.update(partitions=[]), "empty"),
        (lambda d: d.update(partitions="boot"), "must be a list"),
        (lambda d: d.update(max_download_size=4095), "max_download_size"),
        (lambda d: d.update(max_download_size=1 << 32), "max_download_size"),
        (lambda d: d.update(slot_count=3), "slot_count"),
        (lambda d: d.update(slot_count=1), "slot_count"),
        (lambda d: d.update(slot_count=0), "slotted but the device has no slots"),
        (lambda d: d.update(max_retry_count=0), "max_retry_count"),
        (lambda d: d.update(max_retry_count=8), "max_retry_count"),
        (lambda d: d.update(secure="yes"), "secure"),
        (lambda d: d.update(battery_voltage_mv=True), "battery_voltage_mv"),
        (lambda d: d.update(usb_vendor_id="0xZTE"), "usb_vendor_id"),
        (lambda d: d.update(usb_product_id=0x10000), "usb_product_id"),
        (lambda d: d.update(serialno="../evil"), "serialno"),
        (lambda d: d.update(serialno=""), "serialno"),
        (lambda d: d.update(product="x" * 65), "product"),
        (lambda d: d.update(variant="caf\u00e9"), "variant"),
        (lambda d: d.update(max_downlaod_size=1), "unknown field"),
        (lambda d: d.pop("product"), "missing field"),
    ],
)
def test_bad_profiles_are_refused_with_a_reason(mutate, says):
    with pytest.raises(ProfileError) as info:
        DeviceProfile.from_dict(_bad(mutate))
    assert says in str(info.value)
    assert info.value.hint


def test_from_dict_needs_an_object():
    with pytest.raises(ProfileError):
        DeviceProfile.from_dict(["not", "a", "profile"])


def test_load_profile_reads_json_and_names_the_file(tmp_path, profile):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(profile.to_dict()))
    assert load_profile(good) == profile

    broken = tmp_path / "broken.json"
    broken.write_text('{"product": ')
    with pytest.raises(ProfileError) as info:
        load_profile(broken)
    assert "broken.json" in str(info.value) and info.value.hint

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bad(lambda d: d.update(slot_count=5))))
    with pytest.raises(ProfileError) as info:
        load_profile(bad)
    assert "bad.json" in str(info.value) and "slot_count" in str(info.value)

    with pytest.raises(ProfileError):
        load_profile(tmp_path / "absent.json")
