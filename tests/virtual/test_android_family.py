"""The android family: a phone whose system, vendor and product live inside super.
Its bootloader (ABL) cannot touch them; its fastbootd resizes and writes them as AOSP's does."""

import os
import time

import pytest

from flasher.lp import image, layout
from flasher.virtual.handset import Handset, Mode
from tests.support.handsets import RunningHandset, android_profile
from tests.support.wire import Wire

MiB = 1 << 20


@pytest.fixture
def phone(tmp_path):
    running = []

    def start(mode=Mode.FASTBOOTD, **changes):
        handset = RunningHandset(tmp_path / f"phone-{len(running)}", android_profile(**changes), start_mode=mode)
        running.append(handset)
        return handset, Wire(handset.address)
    yield start
    for handset in running:
        handset.stop()


def _stored(handset, slot_number=0):
    """The metadata as the super file holds it, read by the codec on its own."""
    with open(handset.handset.storage.path("super"), "rb") as f:
        return image.read_super(f, slot_number)


def _logical(handset, name):
    return handset.handset.family.dynamic.super.read_logical(name)


def _flash(wire, name, data):
    assert wire.download(data)[-1] == b"OKAY"
    return wire.last(f"flash:{name}")


def test_the_bootloader_has_only_super_and_cannot_write_logical_partitions(phone):
    handset, wire = phone(Mode.BOOTLOADER)
    assert wire.last("getvar:is-logical:system_b") == b"FAILGetVar Variable Not found"
    assert wire.last("getvar:partition-size:super").startswith(b"OKAY 0x")
    assert wire.last("getvar:partition-size:system_b") == b"FAILGetVar Variable Not found"
    assert _flash(wire, "system_b", b"x" * 4096) == b"FAIL(system_b) No such partition"
    assert wire.last("resize-logical-partition:system_b:0") == b"FAILunknown command"
    assert wire.last("getvar:snapshot-update-status") == b"OKAYnone"
    assert wire.last("reboot-fastboot") == b"OKAY"
    assert handset.handset.wait_for_mode(Mode.FASTBOOTD, 10)


def test_fastbootd_reports_logical_partitions_of_both_slots(phone):
    _handset, wire = phone()
    assert wire.last("getvar:is-userspace") == b"OKAYyes"
    assert wire.last("getvar:super-partition-name") == b"OKAYsuper"
    assert wire.last("getvar:is-logical:system_b") == b"OKAYyes"
    assert wire.last("getvar:is-logical:boot_b") == b"OKAYno"
    assert wire.last("getvar:is-logical:super") == b"OKAYno"
    assert wire.last("getvar:is-logical:system") == b"FAILPartition not found"
    assert wire.last("getvar:partition-size:vendor_a") == b"OKAY0x400000"
    listing = b"".join(wire.command("getvar:all"))
    assert b"is-logical:product_b:yes" in listing and b"partition-size:system_b:0x800000" in listing


def test_flashing_a_logical_partition_writes_its_extents_and_nothing_else(phone):
    handset, wire = phone()
    before_a = _logical(handset, "system_a")
    data = os.urandom(3 * MiB + 123)
    assert wire.last("resize-logical-partition:system_b:0") == b"OKAYPartition resized"
    assert wire.last(f"resize-logical-partition:system_b:{len(data)}") == b"OKAYPartition resized"
    assert _flash(wire, "system_b", data) == b"OKAYFlashing succeeded"
    metadata = _stored(handset)
    system_b = metadata.partition("system_b")
    assert system_b.size == -(-len(data) // 4096) * 4096
    raw = handset.handset.storage.path("super").read_bytes()
    assert b"".join(raw[e.target_data * 512 : e.target_data * 512 + e.size] for e in system_b.extents)[: len(data)] == data
    assert _logical(handset, "system_a") == before_a
    for slot_number in range(metadata.geometry.metadata_slot_count):  # every metadata slot says the same
        assert _stored(handset, slot_number) == metadata


def test_an_image_larger_than_its_logical_partition_is_refused(phone):
    _handset, wire = phone()
    assert wire.last("resize-logical-partition:product_b:4096") == b"OKAYPartition resized"
    assert _flash(wire, "product_b", b"p" * 8192) == b"FAILValue too large for defined data type"


def test_not_enough_space_is_said_as_fastbootd_says_it(phone):
    handset, wire = phone()
    before = _stored(handset)
    assert wire.last(f"resize-logical-partition:system_b:{64 * MiB}") == b"FAILNot enough space to resize partition"
    assert wire.last("resize-logical-partition:nothing_b:0") == b"FAILPartition does not exist"
    assert wire.last("resize-logical-partition:system_b:lots") == b"FAILInvalid partition size"
    assert _stored(handset) == before


def test_create_and_delete_logical_partitions(phone):
    handset, wire = phone()
    assert wire.last("create-logical-partition:scratch:1048576") == b"OKAYPartition created"
    assert wire.last("create-logical-partition:scratch:4096") == b"FAILPartition already exists"
    assert wire.last("getvar:is-logical:scratch") == b"OKAYyes"
    assert _stored(handset).partition("scratch").size == MiB
    assert wire.last(f"create-logical-partition:huge:{1 << 40}") == b"FAILNot enough space for partition"
    assert wire.last("delete-logical-partition:scratch") == b"OKAYPartition deleted"
    assert _stored(handset).partition("scratch") is None
    assert wire.last("delete-logical-partition:scratch") == b"FAILPartition does not exist"
    assert wire.last("wipe-super") == b"FAILUnrecognized command wipe-super"  # a client command


def _super_empty(handset, sizes=None):
    """super_empty.img for this phone's super: every logical partition of both slots empty."""
    size = handset.handset.storage.size("super")
    metadata = layout.new_layout("super", size, {f"qti_dynamic_partitions_{s}": (size - MiB) // 2 for s in "ab"},
                                 {f"{n}_{s}": f"qti_dynamic_partitions_{s}" for s in "ab"
                                  for n in ("system", "vendor", "product")})
    return image.super_empty_bytes(metadata)


def test_update_super_keeps_the_slot_not_running_and_empties_the_running_one(phone):
    handset, wire = phone()
    data = os.urandom(MiB)
    wire.last(f"resize-logical-partition:system_b:{len(data)}")
    _flash(wire, "system_b", data)
    assert wire.download(_super_empty(handset))[-1] == b"OKAY"
    assert wire.last("update-super:super") == b"OKAYSuccessfully updated partition table"
    metadata = _stored(handset)
    assert metadata.partition("system_a").size == 0  # slot a runs: its partitions start over
    assert _logical(handset, "system_b")[: len(data)] == data
    assert wire.download(_super_empty(handset))[-1] == b"OKAY"
    assert wire.last("update-super:super:wipe") == b"OKAYSuccessfully flashed partition table"
    assert _stored(handset).partition("system_b").size == 0


def test_update_super_refuses_what_is_not_metadata(phone):
    handset, wire = phone()
    before = _stored(handset)
    wire.download(os.urandom(8192))
    assert wire.last("update-super:super") == b"FAILData is not a valid logical partition metadata image"
    wire.download(_super_empty(handset))
    assert wire.last("update-super:system") == b"FAILCannot find system in the new metadata"
    assert wire.last("update-super") == b"FAILInvalid arguments"
    assert _stored(handset) == before


def test_a_merging_snapshot_blocks_super_and_cannot_be_cancelled(phone):
    handset, wire = phone(Mode.BOOTLOADER)
    handset.handset.family.dynamic.snapshot_status = "merging"
    assert wire.last("getvar:snapshot-update-status") == b"OKAYmerging"  # ABL reports it too
    wire.last("reboot-fastboot")
    assert handset.handset.wait_for_mode(Mode.FASTBOOTD, 10)
    wire = _reconnect(handset)
    assert wire.last("getvar:snapshot-update-status") == b"OKAYmerging"
    assert wire.last("snapshot-update:cancel") == b"FAILCannot cancel the snapshot update: a merge is in progress"
    assert wire.last("resize-logical-partition:system_b:0") == \
        b"FAILCannot change super while a snapshot update is in progress"
    wire.download(_super_empty(handset))
    assert wire.last("update-super:super") == b"FAILCannot change super while a snapshot update is in progress"


def test_a_waiting_snapshot_is_cancelled_and_super_can_change_again(phone):
    handset, wire = phone()
    handset.handset.family.dynamic.snapshot_status = "snapshotted"
    assert wire.last("resize-logical-partition:system_b:0").startswith(b"FAILCannot change super")
    assert wire.last("snapshot-update:cancel") == b"OKAYSuccess"
    assert wire.last("getvar:snapshot-update-status") == b"OKAYcancelled"
    assert wire.last("snapshot-update:merge") == b"FAILInvalid parameter to snapshot-update"
    assert wire.last("resize-logical-partition:system_b:0") == b"OKAYPartition resized"


def test_a_locked_phone_refuses_every_change_to_super(phone):
    handset, wire = phone(unlocked=False)
    before = _stored(handset)
    for command in ("resize-logical-partition:system_b:0", "create-logical-partition:x:0",
                    "delete-logical-partition:system_b", "update-super:super", "snapshot-update:cancel"):
        assert wire.last(command) == b"FAILCommand not available on locked devices", command
    assert wire.last("flash:system_b") == b"FAILFlashing is not allowed on locked devices"
    assert _stored(handset) == before


def _reconnect(handset) -> Wire:
    deadline = time.monotonic() + 10
    while True:
        try:
            return Wire(handset.address)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_the_bootloader_cancels_a_waiting_snapshot_too(phone):
    handset, wire = phone(Mode.BOOTLOADER)
    handset.handset.family.dynamic.snapshot_status = "snapshotted"
    assert wire.last("snapshot-update:cancel") == b"OKAYSuccess"
    assert wire.last("getvar:snapshot-update-status") == b"OKAYcancelled"
    handset.handset.family.dynamic.snapshot_status = "merging"
    assert wire.last("snapshot-update:cancel").startswith(b"FAILCannot cancel")


def test_update_super_refuses_a_layout_larger_than_super_or_overlapping_the_kept_slot(phone):
    handset, wire = phone()
    size = handset.handset.storage.size("super")
    before = _stored(handset)
    wire.download(image.super_empty_bytes(layout.new_layout("super", 2 * size, {"g": 0}, {"system_a": "g"})))
    assert wire.last("update-super:super") == b"FAILUnable to write new partition table"
    # A table whose x_a reaches into where slot b's partitions, which update-super keeps, lie.
    new = layout.resize(layout.new_layout("super", size, {"g": 0}, {"x_a": "g"}), "x_a", 20 * MiB)
    wire.download(image.super_empty_bytes(new))
    assert wire.last("update-super:super") == b"FAILUnable to import partitions"
    assert _stored(handset) == before


def test_a_super_without_readable_metadata_only_takes_a_new_table(phone):
    handset, wire = phone()
    with open(handset.handset.storage.path("super"), "r+b") as f:  # both geometries destroyed
        for offset in (4096, 8192):
            f.seek(offset)
            f.write(os.urandom(64))
    assert wire.last("getvar:is-logical:system_b") == b"FAILPartition not found"
    assert wire.last("resize-logical-partition:system_b:0") == b"FAILCould not open super partition"
    wire.download(_super_empty(handset))
    assert wire.last("update-super:super") == b"OKAYSuccessfully flashed partition table"
    assert wire.last("getvar:is-logical:system_b") == b"OKAYyes"


def test_the_factory_line_writes_logical_images_into_super(tmp_path):
    sizes = {"boot": MiB, "system": 3 * MiB + 5, "super_empty": 8192}
    images = {name: tmp_path / f"{name}.img" for name in sizes}
    for index, (name, size) in enumerate(sizes.items()):
        images[name].write_bytes(bytes([index + 1]) * size)
    handset = Handset(android_profile(), tmp_path / "phone")
    assert handset.factory_flash(images) == "a"
    dynamic = handset.family.dynamic.super
    assert dynamic.logical_size("system_a") == 3 * MiB + 4096  # sized to the image, in whole blocks
    assert dynamic.read_logical("system_a")[: sizes["system"]] == images["system"].read_bytes()
    assert handset.storage.path("boot_a").read_bytes()[:MiB] == images["boot"].read_bytes()


def test_an_interrupted_update_leaves_cow_partitions_that_a_host_must_delete(phone):
    """Cancelling the snapshot keeps the `-cow` partitions, and update-super keeps them too: the
    partitions of the running slot cannot grow into super's free space until they are deleted."""
    handset, wire = phone()
    handset.handset.family.dynamic.interrupt_update()
    assert wire.last("getvar:snapshot-update-status") == b"OKAYsnapshotted"
    cows = [p.name for p in _stored(handset).partitions if p.name.endswith("-cow")]
    assert cows == ["system_b-cow", "vendor_b-cow", "product_b-cow"]
    assert wire.last("getvar:is-logical:system_b-cow") == b"OKAYyes"
    assert wire.last("snapshot-update:cancel") == b"OKAYSuccess"
    assert wire.download(_super_empty(handset))[-1] == b"OKAY"
    assert wire.last("update-super:super") == b"OKAYSuccessfully updated partition table"
    assert [p.name for p in _stored(handset).partitions if p.name.endswith("-cow")] == cows
    larger = {"system_a": 9 * MiB, "vendor_a": 4 * MiB, "product_a": 2 * MiB}  # 1 MiB more than the factory's

    def resize_all():
        return [wire.last(f"resize-logical-partition:{name}:{size}") for name, size in larger.items()]
    assert b"FAILNot enough space to resize partition" in resize_all()
    for cow in cows:
        assert wire.last(f"delete-logical-partition:{cow}") == b"OKAYPartition deleted"
    assert resize_all() == [b"OKAYPartition resized"] * 3
