"""A TSUF package inside an SWUpdate container (.swu), as rollout servers such as goosebit
require their software to be: a cpio archive ("newc") whose first member is sw-description.

The container is only an envelope the server understands: TSUF takes the one package (.zip)
out of it and trusts nothing else in it; the package's own signature decides. The archive is
read with bounds (member count, name length, sizes within the file), so a hostile container
can only be refused.
"""

import os
from pathlib import Path

from ..package.errors import ArchiveError

MAGICS = (b"070701", b"070702")
_HEADER = 110
_MAX_MEMBERS = 64
_MAX_NAME = 1024
_TRAILER = "TRAILER!!!"


class ContainerRefused(ArchiveError):
    hint = "Put exactly one signed TSUF package (.zip) in the .swu the server offers."


def is_container(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(6) in MAGICS


def extract_package(container: Path, dest: Path) -> Path:
    """Copy the container's one .zip member into `dest` (owner-only, replaced whole, so a reader
    of an earlier copy keeps its own); refuse anything else."""
    members = list(_members(container))
    packages = [(name, offset, size) for name, offset, size in members if name.lower().endswith(".zip")]
    if len(packages) != 1:
        raise ContainerRefused(f"{container.name} holds {len(packages)} .zip packages, not one")
    _, offset, size = packages[0]
    partial = dest.with_name(dest.name + ".partial")
    with open(container, "rb") as source, os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                                                    "wb") as out:
        source.seek(offset)
        left = size
        while left:
            chunk = source.read(min(left, 1 << 20))
            if not chunk:
                raise ContainerRefused(f"{container.name} ends inside its package")
            out.write(chunk)
            left -= len(chunk)
    os.replace(partial, dest)
    return dest


def _members(container: Path):
    """(name, data offset, size) of each member, up to the trailer."""
    length = container.stat().st_size
    with open(container, "rb") as file:
        offset = 0
        for _ in range(_MAX_MEMBERS):
            header = file.read(_HEADER)
            if len(header) < _HEADER or header[:6] not in MAGICS:
                raise ContainerRefused(f"{container.name}: not a cpio (newc) archive at byte {offset}")
            try:
                size, name_size = int(header[54:62], 16), int(header[94:102], 16)
            except ValueError:
                raise ContainerRefused(f"{container.name}: a member header is not hexadecimal") from None
            if not 1 <= name_size <= _MAX_NAME:
                raise ContainerRefused(f"{container.name}: a member name of {name_size} bytes")
            name = file.read(name_size).rstrip(b"\0").decode("utf-8", "replace")
            data = _aligned(offset + _HEADER + name_size)
            if data + size > length:
                raise ContainerRefused(f"{container.name}: member {name[:80]!r} runs past the end of the file")
            if name == _TRAILER:
                return
            yield name, data, size
            offset = _aligned(data + size)
            file.seek(offset)
        raise ContainerRefused(f"{container.name} holds more than {_MAX_MEMBERS} members")


def _aligned(offset: int) -> int:
    return (offset + 3) & ~3
