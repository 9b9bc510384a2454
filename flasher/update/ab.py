"""The A/B core of an update: write the inactive slot, verify it, switch, reboot, confirm.

The active slot is never written, so whatever happens before the switch the
handset still boots what it booted before. The switch is one `set_active`,
which the bootloader persists atomically; the handset then proves the new
slot by booting it (or falls back, and we say so).
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..device import FastbootDevice, Progress, other_slot, wait_for_device
from ..errors import FlasherError
from ..sparse import is_sparse

VERIFY_CHUNK = 1 << 20


class NotAbDevice(FlasherError):
    hint = "This handset has no A/B slots; it needs the non-A/B update path."


class VerifyFailed(FlasherError):
    hint = ("The handset did not store what was sent. The active slot is untouched; "
            "run the update again, and if it fails twice the handset's storage may be failing.")


class UnsupportedImage(FlasherError):
    hint = "Give the A/B update raw partition images."


@dataclass
class AbResult:
    serialno: str
    from_slot: str
    to_slot: str
    booted_slot: str | None = None
    slot_successful: bool = False
    images: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def switched(self) -> bool:
        return self.booted_slot == self.to_slot and self.slot_successful

    @property
    def outcome(self) -> str:
        if self.switched:
            return "done"
        if self.booted_slot == self.from_slot:
            return "rolled back"
        return "failed"


def update_ab(address: str, images: dict[str, Path], *, reboot_timeout: float = 60.0,
              on_state: Callable[[str], None] = lambda state: None,
              on_progress: Progress | None = None) -> AbResult:
    """Write `images` (partition -> raw image) to the inactive slot and switch to it."""
    started = time.monotonic()
    for path in images.values():
        with open(path, "rb") as image:
            if is_sparse(image.read(4)):
                raise UnsupportedImage(f"{path} is a sparse image; the A/B update verifies raw images")
    with FastbootDevice.open(address) as device:
        on_state("checking")
        serialno = device.getvar("serialno")
        current = device.current_slot()
        if device.slot_count() != 2 or current is None:
            raise NotAbDevice(f"{serialno} reports {device.slot_count()} slots")
        result = AbResult(serialno, current, other_slot(current))
        written: dict[str, Path] = {}
        for partition, path in images.items():
            target = device.resolve_partition(partition, result.to_slot)
            on_state(f"writing {target}")
            device.flash(target, path, progress=on_progress)
            written[target] = path
            result.images[target] = _sha256(path)
        for target, path in written.items():
            on_state(f"verifying {target}")
            _verify(device, target, path, result.images[target])
        on_state("switching")
        device.set_active(result.to_slot)
        on_state("rebooting")
        device.reboot()
    on_state("confirming")
    with wait_for_device(address, timeout=reboot_timeout, serialno=serialno) as device:
        result.booted_slot = device.current_slot()
        result.slot_successful = device.getvar_optional(f"slot-successful:{result.to_slot}") == "yes"
    result.seconds = time.monotonic() - started
    on_state(result.outcome)
    return result


def _verify(device: FastbootDevice, target: str, path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    device.fetch(target, _HashSink(digest), size=path.stat().st_size)
    if digest.hexdigest() != expected:
        raise VerifyFailed(f"{target} reads back different from {path.name}")


class _HashSink:
    def __init__(self, digest):
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as image:
        while chunk := image.read(VERIFY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
