"""What can go wrong with super metadata, named for what the user sees."""

from flasher.errors import FlasherError


class SuperError(FlasherError):
    """Something about the super partition or its metadata."""


class MetadataInvalid(SuperError):
    """Bytes that are not valid logical partition metadata (corrupt, cut short or hostile)."""

    hint = ("The super image or super_empty.img is damaged or not one: rebuild it with the "
            "vendor's tools, or use the file from an untouched factory image.")


class NoSpaceInSuper(SuperError):
    """A logical partition does not fit its group's maximum size or the super partition."""

    hint = "The images are larger than this phone's super partition allows: use a build made for this device."


class LogicalPartitionError(SuperError):
    """A request about a logical partition or group that the metadata cannot honour."""

    hint = "Check the partition and group names: `fastboot getvar all` lists the phone's logical partitions."
