"""Allocating logical partitions inside super: groups' maximum sizes and the device bound them."""

import pytest

from flasher.lp import LogicalPartitionError, NoSpaceInSuper, layout

MiB = 1 << 20


def _empty():
    return layout.new_layout("super", 40 * MiB, {"main_a": 16 * MiB, "main_b": 16 * MiB},
                             {f"{n}_{s}": f"main_{s}" for s in "ab" for n in ("system", "vendor")})


def _spans(metadata):
    return sorted((e.target_data, e.target_data + e.num_sectors) for p in metadata.partitions for e in p.extents)


def test_sizes_round_up_to_blocks_and_extents_never_overlap():
    metadata = _empty()
    for name, size in (("system_a", 3 * MiB + 1), ("vendor_a", 2 * MiB), ("system_b", 4 * MiB),
                       ("system_a", 6 * MiB), ("vendor_a", 1 * MiB), ("vendor_b", 5 * MiB)):
        metadata = layout.resize(metadata, name, size)
    assert metadata.partition("system_a").size == 6 * MiB
    assert metadata.partition("vendor_a").size == 1 * MiB
    spans = _spans(metadata)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
    assert spans[0][0] * 512 >= metadata.geometry.metadata_end
    assert layout.resize(metadata, "system_a", 0).partition("system_a").extents == ()


def test_a_group_maximum_is_enforced_and_nothing_changes():
    metadata = layout.resize(_empty(), "system_a", 10 * MiB)
    with pytest.raises(NoSpaceInSuper, match="group main_a"):
        layout.resize(metadata, "vendor_a", 7 * MiB)
    assert metadata.partition("vendor_a").size == 0


def test_the_device_bounds_partitions_in_unlimited_groups():
    metadata = layout.new_layout("super", 8 * MiB, {"free": 0}, {"big": "free"})
    with pytest.raises(NoSpaceInSuper, match="not enough free space"):
        layout.resize(metadata, "big", 8 * MiB)
    with pytest.raises(NoSpaceInSuper):
        layout.resize(metadata, "big", 1 << 60)


def test_create_and_delete():
    metadata = layout.add_partition(_empty(), "odm_a", "main_a")
    metadata = layout.resize(metadata, "odm_a", MiB)
    with pytest.raises(LogicalPartitionError, match="already exists"):
        layout.add_partition(metadata, "odm_a", "main_a")
    with pytest.raises(LogicalPartitionError, match="no partition group"):
        layout.add_partition(metadata, "odm_b", "nowhere")
    metadata = layout.delete_partition(metadata, "odm_a")
    assert metadata.partition("odm_a") is None
    with pytest.raises(LogicalPartitionError, match="no logical partition"):
        layout.delete_partition(metadata, "odm_a")


def test_importing_the_other_slot_keeps_its_extents():
    old = layout.resize(layout.resize(_empty(), "system_a", 5 * MiB), "system_b", 3 * MiB)
    kept = layout.import_partitions(_empty(), old, {"system_a", "vendor_a"})
    assert kept.partition("system_a").extents == old.partition("system_a").extents
    assert kept.partition("system_b").size == 0
    grown = layout.resize(kept, "system_b", 4 * MiB)
    spans = _spans(grown)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
