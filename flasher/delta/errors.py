"""The errors of delta packages; the update session falls back to a full package on any DeltaError."""

from flasher.errors import FlasherError


class DeltaError(FlasherError):
    """A target image could not be made from the source; nothing was flashed."""

    hint = "Update with the full package instead."


class DeltaSourceMismatch(DeltaError):
    """The source image is not the one the delta was built from."""

    hint = "The handset does not hold the build this delta applies to; update with the full package."


class DeltaSourceUnreadable(DeltaSourceMismatch):
    """The source is not in the firmware cache and the handset cannot be read back to get it."""

    hint = ("This handset cannot be read back, so a delta needs its source build in the firmware cache "
            "(tsuf cache add); otherwise update with the full package (--full PACKAGE).")


class PatchRejected(DeltaError):
    """A window's patch is malformed, declares other sizes than the manifest, or makes other bytes."""


class CorruptPatch(PatchRejected):
    """A window's patch data does not decompress (broken bz2) or its control data is inconsistent."""
