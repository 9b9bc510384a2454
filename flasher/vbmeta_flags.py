"""The two switches in an Android Verified Boot (AVB) vbmeta header that `--disable-verity`
and `--disable-verification` set, as the stock fastboot client sets them.

A vbmeta image starts with the magic `AVB0`; its header's 32-bit big-endian `flags` word
sits at byte 120. Bit 0 turns dm-verity off (hashtree disabled), bit 1 turns the
verification of the other images off. A boot image may carry its vbmeta at an offset
that an `AVBf` footer in its last 64 bytes gives. A bootloader honours these flags only
when it is unlocked; a locked one refuses to boot the changed image.
"""

import shutil
import struct
from pathlib import Path

from .errors import FlasherError

MAGIC = b"AVB0"
FOOTER_MAGIC = b"AVBf"
HEADER_SIZE = 256
FLAGS_OFFSET = 120
FOOTER_SIZE = 64
FOOTER_VBMETA_OFFSET = 20  # magic, version major and minor, original image size: then the offset
HASHTREE_DISABLED = 1
VERIFICATION_DISABLED = 2


class NotVbmeta(FlasherError):
    hint = ("--disable-verity and --disable-verification change a vbmeta image (vbmeta.img, or a boot image "
            "with an AVB footer); check the image and the partition name.")


def flags_for(disable_verity: bool, disable_verification: bool) -> int:
    return (HASHTREE_DISABLED if disable_verity else 0) | (VERIFICATION_DISABLED if disable_verification else 0)


def header_offset(image: Path) -> int:
    """Where the vbmeta header starts: 0 for a vbmeta image, or where an AVB footer points."""
    size = image.stat().st_size
    with open(image, "rb") as file:
        if file.read(4) == MAGIC:
            return 0
        if size >= FOOTER_SIZE:
            file.seek(size - FOOTER_SIZE)
            footer = file.read(FOOTER_SIZE)
            if footer[:4] == FOOTER_MAGIC:
                (offset,) = struct.unpack_from(">Q", footer, FOOTER_VBMETA_OFFSET)
                if offset + HEADER_SIZE <= size:
                    file.seek(offset)
                    if file.read(4) == MAGIC:
                        return offset
    raise NotVbmeta(f"{image} has no vbmeta header (no {MAGIC.decode()} magic at its start, and no AVB footer "
                    "pointing to one)")


def with_flags(image: Path, flags: int, copy: Path) -> Path:
    """A copy of `image` with `flags` added to its vbmeta header; the original is left as it is."""
    offset = header_offset(image)
    shutil.copyfile(image, copy)
    with open(copy, "r+b") as file:
        file.seek(offset + FLAGS_OFFSET)
        (current,) = struct.unpack(">I", file.read(4))
        file.seek(offset + FLAGS_OFFSET)
        file.write(struct.pack(">I", current | flags))
    return copy
