"""Stable result codes: what a report says happened, as a number and a name.

Numbers never change meaning once released; backends and lab dashboards
group by them. Ranges: 0 success, 1-99 outcomes after a switch, 100s
preflight refusals, 200s link and device faults, 300s write and verify
faults, 400s switch and confirmation faults, 900s the host itself.
"""

import enum


class Result(enum.Enum):
    """(code, retryable): retryable means running the same update again may succeed."""

    SUCCESS = (0, False)
    NOT_CONFIRMED = (5, False)
    """Written and switched, and the handset rebooted into the new build, but nothing it offers
    can tell which build it runs (its bootloader does not say, and it does not come back to it)."""
    BOOTED_NOT_CONFIRMED = (6, False)
    """The phone came back under its serial in Android, so the new slot booted, but it offers no ADB
    (USB debugging off) to tell which build runs."""
    NOT_AUTHORIZED = (7, True)
    """The phone booted and its ADB asked to allow this computer; nobody did in time, so the build
    is not confirmed. Run again from the bootloader once allowed: it confirms without writing."""
    ROLLED_BACK = (10, True)
    RESTORED = (11, True)
    CANCELLED = (20, True)
    DRY_RUN = (30, False)
    NEEDS_REBOOT = (40, False)
    IN_PROGRESS = (50, False)

    PACKAGE_UNTRUSTED = (100, False)
    PACKAGE_CORRUPT = (101, False)
    INCOMPATIBLE_PRODUCT = (110, False)
    INCOMPATIBLE_LAYOUT = (111, False)
    ROLLBACK_REFUSED = (112, False)
    BATTERY_LOW = (113, True)
    NO_BACKUP = (115, False)
    DELTA_SOURCE_MISMATCH = (116, True)
    PATCH_REJECTED = (117, False)
    NEEDS_UNLOCK = (118, False)
    """The bootloader is locked and the package can only be flashed on an unlocked one."""
    NO_SIDELOAD_LINK = (119, False)
    """A sideload package, but the handset is reached over a link ADB does not run on (UDP, serial)."""
    LAST_GOOD_SLOT = (120, True)
    """The inactive slot holds the last build known to boot (the active one has not booted yet)."""
    SNAPSHOT_MERGING = (121, True)
    """A phone is merging the snapshots of its last over-the-air update; super cannot change until it ends."""

    LINK_LOST = (200, True)
    LINK_TIMEOUT = (201, True)
    DEVICE_REFUSED = (202, True)
    PROTOCOL_VIOLATION = (203, True)

    WRITE_FAILED = (300, True)
    VERIFY_FAILED = (301, True)
    SIDELOAD_REFUSED = (302, False)
    """The handset's recovery checked the package and refused it (not signed with its OEM key,
    another product, an older build); it keeps its current build."""

    SWITCH_FAILED = (400, True)
    DID_NOT_RETURN = (401, True)
    WRONG_BUILD = (402, True)

    INTERNAL_ERROR = (900, True)
    HOST_INTERRUPTED = (901, True)

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def retryable(self) -> bool:
        return self.value[1]

    @classmethod
    def from_code(cls, code: int) -> "Result":
        for result in cls:
            if result.code == code:
                return result
        raise ValueError(f"unknown result code {code}")
