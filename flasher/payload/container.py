"""Where a payload's bytes are: an OTA zip (payload.bin stored, read in place by offset) or a bare payload.bin.

Nothing is ever read whole: readers ask for bounded ranges of the payload, which are
checked against its size first, so a length a hostile manifest claims never becomes
an allocation.
"""

from __future__ import annotations

import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import MissingProperties, NotAPayload, TruncatedPayload

PAYLOAD_NAME = "payload.bin"
PROPERTIES_NAME = "payload_properties.txt"
OTACERT_NAME = "META-INF/com/android/otacert"
MAX_SMALL_MEMBER = 64 * 1024
CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


@dataclass
class PayloadFile:
    """The payload's bytes inside `path`, from `start` for `size` bytes, and the zip around it (if any)."""

    path: Path
    start: int
    size: int
    zip_path: Path | None = None

    def read(self, offset: int, length: int, what: str) -> bytes:
        """Exactly `length` bytes at `offset` in the payload, or TruncatedPayload naming `what`."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise TruncatedPayload(f"{what} ({length} bytes at {offset}) lies past the end of the "
                                   f"{self.size}-byte payload")
        with open(self.path, "rb") as file:
            file.seek(self.start + offset)
            data = file.read(length)
        if len(data) != length:
            raise TruncatedPayload(f"{self.path} ends inside {what}")
        return data

    def chunks(self, offset: int, length: int, what: str, chunk: int = CHUNK):
        """The bytes of a range, `chunk` at a time; the range is checked before the first read."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise TruncatedPayload(f"{what} ({length} bytes at {offset}) lies past the end of the "
                                   f"{self.size}-byte payload")
        with open(self.path, "rb") as file:
            file.seek(self.start + offset)
            left = length
            while left:
                data = file.read(min(chunk, left))
                if not data:
                    raise TruncatedPayload(f"{self.path} ends inside {what}")
                left -= len(data)
                yield data

    def member(self, name: str) -> bytes | None:
        """A small file beside payload.bin in the OTA zip (payload_properties.txt, the otacert); None if absent."""
        if self.zip_path is None:
            return None
        with zipfile.ZipFile(self.zip_path) as archive:
            try:
                info = archive.getinfo(name)
            except KeyError:
                return None
            if info.file_size > MAX_SMALL_MEMBER:
                raise NotAPayload(f"{self.zip_path}: {name} is {info.file_size} bytes, too large to be what it names")
            with archive.open(info) as member:
                return member.read(MAX_SMALL_MEMBER + 1)[:MAX_SMALL_MEMBER]


def is_ota_zip(path: Path) -> bool:
    """A zip that holds payload.bin: an A/B OTA package, whatever state its payload is in. Only a
    regular file is looked into (a device or a pipe would be read forever)."""
    try:
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return False
        with zipfile.ZipFile(path) as archive:
            return PAYLOAD_NAME in archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def open_payload(path: Path) -> PayloadFile:
    """The payload in an OTA zip or a bare payload.bin; NotAPayload for anything else."""
    path = Path(path)
    with open(path, "rb") as file:
        magic = file.read(4)
        total = file.seek(0, 2)
    if magic == b"CrAU":
        return PayloadFile(path, 0, total)
    if not zipfile.is_zipfile(path):
        raise NotAPayload(f"{path} is neither an OTA zip nor a payload.bin (no CrAU magic)")
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(PAYLOAD_NAME)
    except KeyError:
        raise NotAPayload(f"{path} is a zip without {PAYLOAD_NAME}: not an A/B OTA package",
                          "Non-A/B OTA packages (updater-script) and fastboot update zips are not payloads; "
                          "`tsuf package build --from-update-zip` takes the latter.") from None
    except zipfile.BadZipFile as error:
        raise NotAPayload(f"{path}: a damaged zip ({error})") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise NotAPayload(f"{path}: {PAYLOAD_NAME} is compressed in the zip; OTA packages store it so that it "
                          "can be read in place")
    return PayloadFile(path, _data_start(path, info, total), info.file_size, zip_path=path)


def _data_start(path: Path, info: zipfile.ZipInfo, total: int) -> int:
    """Where a stored member's bytes begin: after its local header, whose extra field may differ from the
    central directory's."""
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        header = file.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise NotAPayload(f"{path}: {PAYLOAD_NAME}'s local header is damaged")
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if start + info.file_size > total:
        raise TruncatedPayload(f"{path} ends inside {PAYLOAD_NAME}")
    return start


def read_properties_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(MAX_SMALL_MEMBER + 1)[:MAX_SMALL_MEMBER]
    except OSError as error:
        raise MissingProperties(f"{path}: cannot read ({error.strerror})") from None
