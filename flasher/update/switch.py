"""The switch: the one step that changes what an A/B handset boots.

The written and verified slot is made active, and the handset is asked again
which slot is active (`FastbootDevice.set_active` reads `current-slot` back:
some bootloaders answer OKAY and change nothing). The journal then records the
switch, so that a rerun never writes the slot that now holds the last good
build, and goes on from the boot instead (`switched_before`).
"""

from ..fastboot import FastbootDevice
from .journal import Journal, JournalEntry


def switch(session, device: FastbootDevice, entry: JournalEntry) -> None:
    """Make `entry.target_slot` active, check it took, and journal it."""
    session.enter("switch")
    session.show("switching", f"slot {entry.target_slot}")
    session.cancel.check()
    device.set_active(entry.target_slot)
    entry.switched = True
    session.station.journal.save(entry)


def switched_before(journal: Journal, serialno: str, package_sha256: str, manifest,
                    current_slot: str) -> JournalEntry | None:
    """The journal of an earlier attempt with this package that switched this handset to the
    slot it now runs: the reboot or the confirmation was cut off (or the switch's answer was
    lost: every image was verified there and that slot is now active)."""
    entry = journal.load(serialno, package_sha256)
    if not entry or not entry.target_slot or entry.target_slot != current_slot:
        return None
    written = {f"{image.partition}_{entry.target_slot}" for image in manifest.partition_images}
    if entry.switched or written <= set(entry.verified):
        return entry
    return None
