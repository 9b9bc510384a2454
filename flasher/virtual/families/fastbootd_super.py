"""What AOSP fastbootd does with `super` on a phone with dynamic partitions
(system/core/fastboot/device: commands.cpp, flashing.cpp, variables.cpp).

Names are taken as given: `system_b` is the logical partition of that name, and a
bare `system` is unknown. `update-super:NAME[:wipe]` takes the downloaded
super_empty.img: with `wipe`, or when super holds no readable metadata, it becomes
the whole table; otherwise the partitions of the slots not running are kept where
they are and the running slot's come from the new table. Every change is written to
all metadata slots. `wipe-super` is a client command (it sends `update-super:...:wipe`),
so fastbootd does not know it. A locked phone refuses every command that changes
super. The Virtual A/B state (`snapshot-update-status`) blocks changes to super
while it is `snapshotted` or `merging`; `snapshot-update cancel` clears a snapshot
but is refused while a merge runs (a merge cannot be undone).

An over-the-air update cut before its reboot (`snapshot:snapshotted`) leaves a
`NAME-cow` partition beside each partition of the slot it wrote, taking super's free
space. Cancelling the snapshot does not delete them, and `update-super` keeps them (their
names do not end in the running slot's suffix), so a host must delete them
(`delete-logical-partition`) before it can grow the partitions it writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ...lp import LogicalPartitionError, MetadataInvalid, NoSpaceInSuper, image, layout
from ...lp.format import GEOMETRY_SIZE, MAX_METADATA_SIZE, Metadata
from ..faults import SNAPSHOT_STATES, Faults
from ..super_partition import SuperPartition
from .base import Refused, say

LOCKED = "Command not available on locked devices"
BUSY = "Cannot change super while a snapshot update is in progress"
MERGING = "Cannot cancel the snapshot update: a merge is in progress"


class DynamicPartitions:
    """A phone's super and its Virtual A/B state (kept in the handset's folder)."""

    def __init__(self, super_partition: SuperPartition, state_path: Path, faults: Faults,
                 running_slot: Callable[[], str] = lambda: "a"):
        self.super = super_partition
        self._state_path = state_path
        self._faults = faults
        self._running_slot = running_slot

    @property
    def snapshot_status(self) -> str:
        if self._faults.snapshot_update is not None:  # a test's state, taken once
            state, self._faults.snapshot_update = self._faults.snapshot_update, None
            if state == "snapshotted":
                self.interrupt_update()
            else:
                self.snapshot_status = state
        try:
            state = json.loads(self._state_path.read_text()).get("snapshot-update-status")
        except (OSError, ValueError, AttributeError):
            return "none"
        return state if state in SNAPSHOT_STATES else "none"

    @snapshot_status.setter
    def snapshot_status(self, state: str) -> None:
        self._state_path.write_text(json.dumps({"snapshot-update-status": state}))

    def interrupt_update(self) -> None:
        """An over-the-air update of the slot not running, cut before its reboot: snapshotted,
        with its `-cow` partitions sharing super's free space."""
        running = self._running_slot()
        metadata = self.super.metadata("abcd".find(running))
        cows = [f"{p.name}-cow" for p in metadata.partitions
                if p.name[-2:-1] == "_" and p.name[-1] != running and not p.name.endswith("-cow")]
        block = metadata.geometry.logical_block_size
        for left, name in zip(range(len(cows), 0, -1), cows):
            metadata = layout.add_partition(metadata, name, layout.DEFAULT_GROUP, attributes=0)
            size = layout.free_bytes(metadata) // left // (1 << 20) * (1 << 20)
            while size >= block:
                try:
                    metadata = layout.resize(metadata, name, size)
                    break
                except NoSpaceInSuper:  # alignment costs a little of the free space
                    size -= 1 << 20
        self.super.write_all_slots(metadata)
        self.snapshot_status = "snapshotted"

    def busy(self) -> bool:
        return self.snapshot_status in ("snapshotted", "merging")


def slot_number(handset) -> int:
    """liblp's metadata slot for the running slot (a: 0, b: 1)."""
    return max(0, "abcd".find(handset.meta.active or "a"))


def current_metadata(handset, dynamic: DynamicPartitions) -> Metadata:
    metadata = dynamic.super.metadata(slot_number(handset))
    if metadata is None:
        raise Refused("Could not open super partition")
    return metadata


def _changing(handset, dynamic: DynamicPartitions) -> Metadata:
    if not handset.unlocked:
        raise Refused(LOCKED)
    if dynamic.busy():
        raise Refused(BUSY)
    return current_metadata(handset, dynamic)


def _size_argument(text: str) -> int:
    try:
        size = int(text, 0)
    except ValueError:
        raise Refused("Invalid partition size") from None
    if size < 0:
        raise Refused("Invalid partition size")
    return size


def update_super(handset, dynamic: DynamicPartitions, protocol, link, args: list[str]) -> None:
    if not args or not args[0]:
        raise Refused("Invalid arguments")
    if not handset.unlocked:
        raise Refused(LOCKED)
    if dynamic.busy():
        raise Refused(BUSY)
    wipe = len(args) > 1 and args[1] == "wipe"
    with open(handset.storage.download_path(), "rb") as staged:
        data = staged.read(min(handset.staged_size, GEOMETRY_SIZE + MAX_METADATA_SIZE))
    try:
        new = image.read_super_empty(data)
    except MetadataInvalid:
        raise Refused("Data is not a valid logical partition metadata image") from None
    if new.super_device.partition_name != args[0]:
        raise Refused(f"Cannot find {args[0]} in the new metadata")
    if new.super_device.size > dynamic.super.size:
        raise Refused("Unable to write new partition table")
    old = dynamic.super.metadata(slot_number(handset))
    if wipe or old is None:
        dynamic.super.write_all_slots(new)
        say(link, protocol.okay("Successfully flashed partition table"))
        return
    running = f"_{handset.meta.active}" if handset.profile.slot_count == 2 else None
    keep = {p.name for p in old.partitions if not (running and p.name.endswith(running))} - {"scratch"}
    try:
        merged = layout.import_partitions(new, old, keep)
    except (LogicalPartitionError, NoSpaceInSuper):
        raise Refused("Unable to import partitions") from None
    dynamic.super.write_all_slots(merged)
    say(link, protocol.okay("Successfully updated partition table"))


def resize(handset, dynamic: DynamicPartitions, protocol, link, args: list[str]) -> None:
    if len(args) < 2:
        raise Refused("Invalid partition name and size")
    metadata = _changing(handset, dynamic)
    size = _size_argument(args[1])
    if metadata.partition(args[0]) is None:
        raise Refused("Partition does not exist")
    try:
        metadata = layout.resize(metadata, args[0], size)
    except NoSpaceInSuper:
        raise Refused("Not enough space to resize partition") from None
    dynamic.super.write_all_slots(metadata)
    say(link, protocol.okay("Partition resized"))


def create(handset, dynamic: DynamicPartitions, protocol, link, args: list[str]) -> None:
    if len(args) < 2:
        raise Refused("Invalid partition name and size")
    metadata = _changing(handset, dynamic)
    size = _size_argument(args[1])
    if metadata.partition(args[0]) is not None:
        raise Refused("Partition already exists")
    # fastbootd puts a new partition in the default group.
    try:
        metadata = layout.add_partition(metadata, args[0], layout.DEFAULT_GROUP, attributes=0)
    except (LogicalPartitionError, MetadataInvalid):
        raise Refused("Failed to add partition") from None
    try:
        metadata = layout.resize(metadata, args[0], size)
    except NoSpaceInSuper:
        raise Refused("Not enough space for partition") from None
    dynamic.super.write_all_slots(metadata)
    say(link, protocol.okay("Partition created"))


def delete(handset, dynamic: DynamicPartitions, protocol, link, args: list[str]) -> None:
    if not args or not args[0]:
        raise Refused("Invalid partition name and size")
    metadata = _changing(handset, dynamic)
    if metadata.partition(args[0]) is None:
        raise Refused("Partition does not exist")
    dynamic.super.write_all_slots(layout.delete_partition(metadata, args[0]))
    say(link, protocol.okay("Partition deleted"))


def snapshot_update(handset, dynamic: DynamicPartitions, protocol, link, args: list[str]) -> None:
    if not args or not args[0]:
        say(link, protocol.info(dynamic.snapshot_status))
        say(link, protocol.okay())
        return
    if args[0] != "cancel":
        raise Refused("Invalid parameter to snapshot-update")
    if not handset.unlocked:
        raise Refused(LOCKED)
    if dynamic.snapshot_status == "merging":
        raise Refused(MERGING)
    if dynamic.snapshot_status == "snapshotted":
        dynamic.snapshot_status = "cancelled"
    say(link, protocol.okay("Success"))


COMMANDS = {
    "update-super": update_super,
    "resize-logical-partition": resize,
    "create-logical-partition": create,
    "delete-logical-partition": delete,
    "snapshot-update": snapshot_update,
}
