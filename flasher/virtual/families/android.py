"""A modern Android phone: Qualcomm ABL as its bootloader, AOSP fastbootd in userspace,
and dynamic partitions (see docs/real-handsets.md and docs/virtual-handset.md).

The profile's system, system_ext, vendor, product, odm (and *_dlkm) partitions are
not physical here: they live as logical partitions `NAME_a` / `NAME_b` inside one
physical `super`, sized for both slots, in groups `qti_dynamic_partitions_a` and
`_b`. A fresh phone leaves the factory with every logical partition of both slots at
its profile size. ABL does not know `is-logical` and cannot write a logical partition
(`(system_b) No such partition`: its GPT has only super), but reports and cancels a
Virtual A/B snapshot (`snapshot-update:cancel`) as fastbootd does; `reboot-fastboot`
enters fastbootd, which serves the logical partitions. After `reboot` it boots Android and stays there.
"""

import dataclasses

from ...lp import layout
from ...package.manifest import SUPER_EMPTY
from ..handset import Mode
from ..imaging import write_image
from ..profile import Partition
from ..super_partition import SUPER, SuperPartition, factory_layout
from .fastbootd import FastbootdFamily
from .fastbootd_super import DynamicPartitions, snapshot_update
from .qualcomm import QualcommFamily

LOGICAL_NAMES = ("system", "system_ext", "vendor", "product", "odm", "vendor_dlkm", "odm_dlkm", "system_dlkm")
GROUP = "qti_dynamic_partitions"
SUPER_SPARE = 4 << 20
"""Room in super beyond both slots' partitions: metadata and alignment."""


def _snapshot_update(handset, command, protocol, link) -> None:
    """The bootloader answers `snapshot-update` too: the stock client cancels a snapshot there."""
    snapshot_update(handset, handset.family.dynamic, protocol, link, command.text.split(":")[1:])


class AndroidFamily(QualcommFamily):
    def __init__(self, name: str):
        super().__init__(name)
        self.logical_sizes: dict[str, int] = {}
        self.dynamic: DynamicPartitions | None = None

    def fit(self, profile):
        profile = super().fit(profile)
        logical = [p for p in profile.partitions if p.name in LOGICAL_NAMES]
        self.logical_sizes = {p.name: p.size for p in logical}
        physical = tuple(p for p in profile.partitions if p.name not in LOGICAL_NAMES)
        if not any(p.name == SUPER for p in physical):
            size = max(2, profile.slot_count) * sum(self.logical_sizes.values()) + SUPER_SPARE
            physical += (Partition(SUPER, size, slotted=False),)
        return dataclasses.replace(profile, partitions=physical)

    def prepare(self, handset) -> None:
        super_partition = SuperPartition(handset.storage)
        if super_partition.metadata() is None:
            slots = handset.profile.slots or ("a",)
            super_partition.write_all_slots(factory_layout(super_partition.size, GROUP, self.logical_sizes, slots))
        self.dynamic = DynamicPartitions(super_partition, handset.root / "snapshot.json", handset.faults,
                                         lambda: handset.meta.active or "a")
        handset.verified_boot.super = super_partition
        self._userspace = FastbootdFamily("fastbootd", bootloader=self, dynamic=self.dynamic)

    def route(self, command):
        if command.text.split(":")[0] == "snapshot-update":
            return _snapshot_update
        return super().route(command)

    def in_mode(self, mode: Mode):
        return self._userspace if mode is Mode.FASTBOOTD else self

    def factory_write(self, handset, partition: str, slot: str, path) -> bool:
        """Logical images go into super, their partition sized to the image; the factory layout
        stands in for a package's super_empty.img."""
        if partition == SUPER_EMPTY:
            return True
        if partition not in self.logical_sizes:
            return False
        name, size, slot_number = f"{partition}_{slot}", path.stat().st_size, "abcd".find(slot)
        super_partition = self.dynamic.super
        super_partition.write_all_slots(layout.resize(super_partition.metadata(slot_number), name, size))
        with open(path, "rb") as image, super_partition.open_logical(name, slot_number) as window:
            write_image(image, size, window, window.size)
        return True

    def snapshot_status(self) -> str:
        return self.dynamic.snapshot_status if self.dynamic else "none"


def make(name: str) -> AndroidFamily:
    return AndroidFamily(name)
