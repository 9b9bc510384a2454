"""Writing logical partitions (system, vendor, product... inside super) the way the
stock fastboot client does, for packages that carry super_empty.img.

super_empty.img says which images are logical. Before any write: every logical
image must fit its group in super (preflight), and a Virtual A/B snapshot is
cancelled (`snapshot-update:cancel`; refused while it merges: SnapshotMerging).
After the boot-critical images were written from the bootloader: the slot being
written is made active, so that fastbootd runs it and `update-super` keeps the
other slot's partitions where they are; `reboot-fastboot`; the same handset is
found again by its serial number; super_empty.img is downloaded and
`update-super:SUPER` applied (after deleting `-cow` partitions an interrupted
over-the-air update left); each logical partition is resized to 0, then each
to its image's size and flashed. A rerun after a cut finds the written slot
active but not yet booted, and preflight keeps the last good slot (LAST_GOOD_SLOT).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..fastboot import FastbootDevice
from ..errors import FlasherError
from ..history.codes import Result
from ..lp import Metadata
from ..lp.format import SECTOR
from ..lp.image import read_super_empty
from ..package.manifest import MAX_SUPER_EMPTY_SIZE
from ..protocol.errors import CommandFailed
from . import preflight
from .readback import NOT_READABLE

DEFAULT_SUPER = "super"  # what the stock client assumes where fastbootd does not say
SNAPSHOT_IDLE = (None, "none", "cancelled")


class SnapshotMerging(preflight.PreflightRefused):
    result = Result.SNAPSHOT_MERGING
    hint = ("The phone is still finishing its last over-the-air update. Start it into Android, leave it "
            "on until the update is done (a few minutes to an hour), then run the update again.")


class DoesNotFitSuper(preflight.WrongLayout):
    hint = "The package's images are larger than this phone's super partition allows; use the package made for it."


class NoUserspaceFastboot(FlasherError):
    hint = ("The phone did not come back in fastbootd after `reboot-fastboot`. Its logical partitions "
            "can only be written there; check that it runs Android 10 or later and try again.")


@dataclass(frozen=True)
class SuperLayout:
    """A package's super_empty.img: its metadata, and the file to send."""

    metadata: Metadata
    path: Path

    @classmethod
    def load(cls, path: Path) -> SuperLayout:
        with open(path, "rb") as f:
            data = f.read(MAX_SUPER_EMPTY_SIZE + 1)
        return cls(read_super_empty(data), path)

    def is_logical(self, partition: str) -> bool:
        """`partition` (a bare name: `system`) is a logical partition of some slot."""
        return any(p.name in (partition, f"{partition}_a", f"{partition}_b") for p in self.metadata.partitions)

    def fit_checks(self, entries, target_slot: str, super_size: int | None) -> list[preflight.Check]:
        """super_empty.img's super within the phone's (`partition-size:super`, None where it does not
        say), and each logical image, alone and with the others of its group, within the group's
        maximum size and the space of super; refused before anything is written."""
        block = self.metadata.geometry.logical_block_size
        device = self.metadata.super_device
        room = device.size - device.first_logical_sector * SECTOR
        used: dict[int, int] = {}
        if super_size is None:
            checks = [preflight.Check("super size", preflight.NOT_AVAILABLE, "the handset does not report super")]
        elif device.size > super_size:
            checks = [_refused("super size", DoesNotFitSuper(
                f"super_empty.img describes a super of {device.size} bytes; this phone's holds {super_size}"))]
        else:
            checks = [preflight.Check("super size", preflight.PASSED, f"{device.size} of {super_size} bytes")]
        for entry in entries:
            name = f"{entry.partition}_{target_slot}" if target_slot else entry.partition
            partition = self.metadata.partition(name)
            if partition is None:
                checks.append(_refused(f"{name} in super", DoesNotFitSuper(
                    f"super_empty.img has no logical partition {name}")))
                continue
            group = self.metadata.groups[partition.group_index]
            used[partition.group_index] = used.get(partition.group_index, 0) + -(-entry.size // block) * block
            limit = min(group.maximum_size or room, room)
            if used[partition.group_index] > limit:
                checks.append(_refused(f"{name} in super", DoesNotFitSuper(
                    f"{name} does not fit super: group {group.name} would need {used[partition.group_index]} "
                    f"bytes and holds {limit}")))
            else:
                checks.append(preflight.Check(f"{name} in super", preflight.PASSED,
                                              f"{used[partition.group_index]} of {limit} bytes of {group.name}"))
        return checks


@dataclass(frozen=True)
class GroupLayout:
    """A vendor OTA's dynamic partition groups: which images are logical, and how many bytes
    each group may hold per slot. An OTA carries no super_empty.img: the phone's own table
    stays, and each logical partition of the slot written is resized within its group."""

    groups: tuple
    path = None

    def is_logical(self, partition: str) -> bool:
        return any(partition in group.partitions for group in self.groups)

    def fit_checks(self, entries, target_slot: str, super_size: int | None) -> list[preflight.Check]:
        checks = [preflight.Check("super size", preflight.NOT_AVAILABLE,
                                  "a vendor OTA carries no layout of super; the phone keeps its own")]
        for group in self.groups:
            name = f"{group.name}_{target_slot}" if target_slot else group.name
            used = sum(-(-entry.size // 4096) * 4096 for entry in entries if entry.partition in group.partitions)
            if group.size and used > group.size:
                checks.append(_refused(f"{name} in super", DoesNotFitSuper(
                    f"the OTA's images of group {group.name} need {used} bytes; it holds {group.size}")))
            else:
                checks.append(preflight.Check(f"{name} in super", preflight.PASSED,
                                              f"{used} of {group.size or 'any number of'} bytes"))
        return checks


def _refused(name: str, refusal: preflight.PreflightRefused) -> preflight.Check:
    return preflight.Check(name, preflight.FAILED, str(refusal), refusal)


def super_size(caps) -> int | None:
    """The phone's super partition size, where it says it (the bootloader does)."""
    return caps.partition_size(caps.super_partition_name or DEFAULT_SUPER)


def layout_of(manifest, images) -> SuperLayout | GroupLayout | None:
    """The package's super_empty.img, a vendor OTA's partition groups, or None for neither."""
    if manifest.super_groups:
        return GroupLayout(manifest.super_groups)
    entry = manifest.super_empty
    return SuperLayout.load(images.path_for(entry, no_source)) if entry else None


def split(layout: SuperLayout | None, entries, targets: dict[str, str]) -> tuple[list, dict[str, str]]:
    """The logical images (written in fastbootd), and the targets of the others (from the bootloader)."""
    logical = [entry for entry in entries if layout and layout.is_logical(entry.partition)]
    names = {entry.partition for entry in logical}
    return logical, {partition: target for partition, target in targets.items() if partition not in names}


def cancel_snapshot(device: FastbootDevice, say) -> None:
    """Cancel a Virtual A/B snapshot that would block super; SnapshotMerging where the phone refuses."""
    status = device.capabilities.snapshot_update_status
    if status in SNAPSHOT_IDLE:
        return
    say("INFO", f"the phone reports snapshot-update-status {status}: cancelling it")
    try:
        device.command("snapshot-update:cancel")
    except CommandFailed as exc:
        if status == "merging":
            raise SnapshotMerging("the phone is merging the snapshots of its last over-the-air update and "
                                  f"refuses to cancel it ({exc.reason})") from None
        raise


def delete_leftover_cow(device: FastbootDevice, say) -> None:
    """An over-the-air update cut before its reboot leaves NAME-cow partitions in super,
    holding its free space; cancelling the snapshot leaves them, and `update-super` keeps
    them. With the snapshot cancelled they hold nothing anyone needs."""
    leftovers = sorted(name.removeprefix("is-logical:") for name, value in device.capabilities.variables.items()
                       if name.startswith("is-logical:") and name.endswith("-cow") and value == "yes")
    for name in leftovers:
        say("INFO", f"deleting {name}, left in super by an interrupted over-the-air update")
        device.command(f"delete-logical-partition:{name}")


def enter_fastbootd(session, device: FastbootDevice, target_slot: str) -> FastbootDevice:
    """The same handset in fastbootd, running `target_slot`; `device` is closed."""
    if device.capabilities.userspace and device.current_slot() == target_slot:
        return device
    if device.current_slot() != target_slot:
        device.set_active(target_slot)
    session.show("rebooting", "to fastbootd")
    device.reboot("fastboot")
    device.close()
    back = session.await_return("the handset to come back in fastbootd")
    if not back.capabilities.userspace:
        back.close()
        raise NoUserspaceFastboot(f"{session.serialno} came back in its bootloader, not in fastbootd")
    return back


def write_slot(session, device: FastbootDevice, layout: SuperLayout | GroupLayout, entries, targets: dict[str, str],
               journal_entry) -> FastbootDevice:
    """Write the logical images of the slot being updated; returns the connection to fastbootd
    (`device` is closed when the phone had to reboot there)."""
    target_slot = journal_entry.target_slot
    session.enter("write")
    device = enter_fastbootd(session, device, target_slot)
    caps = device.capabilities
    super_name = caps.super_partition_name or DEFAULT_SUPER
    delete_leftover_cow(device, session.say)
    if layout.path is not None:
        session.show("writing", f"{super_name} layout")
        with open(layout.path, "rb") as f:
            data = f.read(MAX_SUPER_EMPTY_SIZE + 1)
        device.download(len(data), [data])
        device.command(f"update-super:{super_name}")
    for entry in entries:
        device.command(f"resize-logical-partition:{targets[entry.partition]}:0")
    for entry in entries:
        target = targets[entry.partition]
        session.cancel.check()
        session.enter("write")
        device.command(f"resize-logical-partition:{target}:{entry.size}")
        caps.refresh(f"partition-size:{target}")
        session.show("writing", target)
        path = session.images.path_for(entry, no_source)
        device.flash(target, path)
        session.report.bytes_sent += entry.size
        # fastbootd reads back vendor_boot at most, never a logical partition: no fetch is tried.
        session.say("WARNING", f"{target}: fastbootd cannot read a logical partition back; the written image "
                               "is not verified")
        session.report.verification[target] = NOT_READABLE
        journal_entry.verified.append(target)
        session.station.journal.save(journal_entry)
    return device


def no_source(size: int) -> Path:
    raise FlasherError("a logical partition's delta source cannot be read from the phone",
                       "Use a full package for phones with dynamic partitions.")
