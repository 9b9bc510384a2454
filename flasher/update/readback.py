"""Reading a partition back to prove what it holds: the verification every write ends with."""

import hashlib
from typing import BinaryIO

from ..fastboot import FastbootDevice

NOT_READABLE = "not available on this handset (it cannot be read back)"
"""How a report names an image the handset could not give back."""


def read_back_sha256(device: FastbootDevice, partition: str, size: int, *, copy_to: BinaryIO | None = None) -> str:
    """SHA-256 of the first `size` bytes of `partition`, optionally kept in `copy_to`."""
    digest = hashlib.sha256()

    class _Sink:
        def write(self, data: bytes) -> int:
            digest.update(data)
            if copy_to is not None:
                copy_to.write(data)
            return len(data)
    device.fetch(partition, _Sink(), size=size)
    return digest.hexdigest()
