"""Android's logical partition (LP) metadata: what the `super` partition holds.

A phone launched with Android 10 or later keeps system, vendor, product... as
logical partitions inside one physical `super` partition; the metadata at its
start says where each one's extents lie. `format` holds the records and their
limits, `codec` turns them into bytes and back (checking hostile input), `image`
reads and writes super images and super_empty.img, `layout` allocates, resizes
and deletes logical partitions within their groups and the device.
See docs/package-format.md (Dynamic partitions) for the layout on disk.
"""

from .errors import LogicalPartitionError, MetadataInvalid, NoSpaceInSuper, SuperError
from .format import BlockDevice, Extent, Geometry, Group, LogicalPartition, Metadata

__all__ = [
    "BlockDevice", "Extent", "Geometry", "Group", "LogicalPartition", "LogicalPartitionError",
    "Metadata", "MetadataInvalid", "NoSpaceInSuper", "SuperError",
]
