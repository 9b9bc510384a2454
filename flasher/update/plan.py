"""The plan of a fastboot update: which slot is written and where each image goes.

Made from the package and the handset's capabilities before anything is checked
or written. An A/B handset gets every image on its inactive slot (`boot` ->
`boot_b` while slot a runs); a handset without slots is written in place. A
package with super_empty.img splits its images: the logical ones (inside
super) are written from fastbootd, the others from the bootloader.
"""

from dataclasses import dataclass

from ..transfer_rate import human_bytes
from . import dynamic, preflight


@dataclass(frozen=True)
class Plan:
    in_place: bool
    """The handset has no slots: each image is written over the partition it replaces."""
    current_slot: str
    """"" on a handset without slots."""
    target_slot: str
    """The slot written (the inactive one); "" when written in place."""
    targets: dict[str, str]
    """Each image's partition -> the partition written (`boot` -> `boot_b`)."""
    layout: dynamic.SuperLayout | None
    """The package's super_empty.img; None without one."""
    logical: list
    """The images written from fastbootd (inside super)."""
    physical: dict[str, str]
    """The targets of the other images, written from the bootloader."""

    @property
    def path(self) -> str:
        """What the report calls this path."""
        return "fastboot-in-place" if self.in_place else "fastboot-ab"

    def fit_checks(self, caps) -> list[preflight.Check]:
        """Whether the logical images fit the phone's super; none without logical images."""
        if not self.logical:
            return []
        return self.layout.fit_checks(self.logical, self.target_slot, dynamic.super_size(caps))

    def describe(self, manifest) -> str:
        """What a dry run reports it would do."""
        total = sum(entry.size for entry in manifest.partition_images)
        writes = ", ".join(f"{entry.partition} -> {self.targets[entry.partition]}"
                           for entry in manifest.partition_images)
        return f"would write {human_bytes(total)}: {writes}"


def plan_update(manifest, images, caps) -> Plan:
    """The plan for `manifest`'s images on the handset `caps` describes."""
    in_place = not caps.slots
    target_slot = caps.inactive_slot or ""
    targets = {entry.partition: entry.partition if in_place else f"{entry.partition}_{target_slot}"
               for entry in manifest.partition_images}
    layout = dynamic.layout_of(manifest, images)
    logical, physical = dynamic.split(layout, manifest.partition_images, targets)
    return Plan(in_place, caps.current_slot or "", target_slot, targets, layout, logical, physical)
