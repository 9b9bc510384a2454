"""Writing the inactive slot (or, without slots, the partitions in place), each image
verified as soon as it is written.

Each image goes to its target partition with progress per piece, then is read
back and its SHA-256 compared with the manifest's where the handset allows
reading (`fetch`); the report says how each was verified. Each verified image
goes into the journal, so a rerun after a cut skips it. A delta's source is
read back from the running slot when the firmware cache does not hold it.
"""

import tempfile
from pathlib import Path

from ..delta.errors import DeltaSourceUnreadable
from ..fastboot import FastbootDevice
from .events import Progress
from .journal import JournalEntry
from .outcome import VerifyFailed
from .readback import NOT_READABLE, read_back_sha256


def write_and_verify(session, device: FastbootDevice, targets: dict[str, str], entry: JournalEntry) -> None:
    """Write and verify every image `targets` names (partition -> target) that the journal has not."""
    todo = [image for image in session.manifest.partition_images
            if image.partition in targets and targets[image.partition] not in entry.verified]
    total = sum(image.size for image in todo)
    done = 0
    for image in todo:
        target = targets[image.partition]
        session.cancel.check()
        session.enter("write")

        def progress(sent: int, link_total: int, base: int = done) -> None:
            # A sparse image carries fewer bytes than it writes: count in the image's bytes.
            session.cancel.check()
            session.emit(Progress(session.serialno, base + image.size * min(sent, link_total) // max(link_total, 1),
                                  total))
        source_slot = session.report.from_slot
        path = session.images.path_for(image, lambda size: read_source(
            session, device, f"{image.partition}_{source_slot}" if source_slot else image.partition, size))
        session.show("writing", target)  # after a delta's source was read ("reading")
        device.flash(target, path, progress=progress)
        session.report.bytes_sent += image.size
        session.enter("verify")
        session.show("verifying", target)
        session.report.verification[target] = verify(session, device, target, image)
        entry.verified.append(target)
        session.station.journal.save(entry)
        done += image.size
        session.emit(Progress(session.serialno, done, total))


def verify(session, device: FastbootDevice, target: str, image) -> str:
    """Read the written partition back where the handset allows it; say how it was verified."""
    if not device.capabilities.can_read(target):
        session.say("WARNING", f"{target}: read-back not available on this handset; the written image "
                               "is not verified")
        return NOT_READABLE
    if read_back_sha256(device, target, image.size) != image.sha256:
        raise VerifyFailed(f"{target} reads back different from the package's {image.partition}")
    return "read back"


def read_source(session, device: FastbootDevice, partition: str, size: int) -> Path:
    """The handset's running image of a partition, for a delta to apply to."""
    if not device.capabilities.can_read(partition):
        raise DeltaSourceUnreadable(f"{partition} is not in the firmware cache and the handset cannot be "
                                    "read back")
    session.show("reading", f"{partition} (delta source)")
    folder = Path(tempfile.mkdtemp(prefix="tsuf-source-"))
    path = folder / f"{partition}.img"
    with open(path, "wb") as out:
        read_back_sha256(device, partition, size, copy_to=out)
    session.delta_sources.append(folder)
    return path
