"""Debian's make-dynpart-mappings (a C reader of LP metadata nobody here wrote) reads
the super metadata TSUF writes, by the codec or by the virtual phone's fastbootd, and maps
each logical partition onto the extents TSUF allocated. The kernel's device-mapper cannot exist in a container, so a preloaded
stand-in prints the mappings the tool asks for."""

import subprocess

import pytest

from flasher.lp import image, layout
from flasher.virtual.handset import Mode
from tests.support.handsets import RunningHandset, android_profile
from tests.support.tools import requires_tool
from tests.support.wire import Wire

pytestmark = [requires_tool("make-dynpart-mappings", "make-dynpart-mappings"), requires_tool("cc", "gcc")]

MiB = 1 << 20
SUPER_SIZE = 64 * MiB


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    library = tmp_path_factory.mktemp("dm") / "dm_stand_in.so"
    source = __file__.replace("test_lp_dynpart_mappings.py", "dm_stand_in.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), source], check=True)
    return library


def _mappings(stand_in, super_path, *args) -> tuple[dict[str, list[tuple]], str]:
    result = subprocess.run(["make-dynpart-mappings", str(super_path), *args], capture_output=True, text=True,
                            env={"LD_PRELOAD": str(stand_in), "SUPER_PATH": str(super_path)}, timeout=60)
    assert result.returncode == 0, result.stderr
    devices: dict[str, list[tuple]] = {}
    for line in result.stdout.splitlines():
        word, *rest = line.split()
        if word == "device":
            current = devices.setdefault(rest[0], [])
        else:
            start, size, kind, *params = rest
            current.append((int(start), int(size), kind, *params))
    return devices, result.stderr


def _expected(metadata, super_path):
    expected = {}
    for partition in metadata.partitions:
        start, targets = 0, []
        for extent in partition.extents:
            targets.append((start, extent.num_sectors, "linear", str(super_path), str(extent.target_data)))
            start += extent.num_sectors
        expected[partition.name] = targets
    return expected


def _phone_layout():
    metadata = layout.new_layout("super", SUPER_SIZE, {"main_a": 28 * MiB, "main_b": 28 * MiB},
                                 {f"{name}_{slot}": f"main_{slot}" for slot in "ab"
                                  for name in ("system", "vendor", "product")})
    for name, size in (("system_a", 9 * MiB), ("vendor_a", 3 * MiB + 4096), ("product_a", 2 * MiB),
                       ("system_b", 5 * MiB), ("system_a", 12 * MiB)):  # system_a grows in two extents
        metadata = layout.resize(metadata, name, size)
    return metadata


def _write(path, metadata):
    with open(path, "wb") as f:
        f.truncate(SUPER_SIZE)
        image.write_super(f, metadata)


def test_reads_every_logical_partition_where_tsuf_put_it(stand_in, tmp_path):
    metadata = _phone_layout()
    assert len(metadata.partition("system_a").extents) == 2
    super_path = tmp_path / "super.img"
    _write(super_path, metadata)
    devices, _ = _mappings(stand_in, super_path)
    assert devices == _expected(metadata, super_path)


def test_reads_the_backup_when_the_primary_metadata_is_damaged(stand_in, tmp_path):
    metadata = _phone_layout()
    super_path = tmp_path / "super.img"
    _write(super_path, metadata)
    with open(super_path, "r+b") as f:
        f.seek(metadata.geometry.primary_offset(0) + 300)  # inside the tables: their checksum fails
        f.write(b"\xff" * 8)
        f.seek(4096 + 40)  # the primary geometry too
        f.write(b"\xff")
    devices, _ = _mappings(stand_in, super_path)
    assert devices == _expected(metadata, super_path)


def test_refuses_what_the_codec_also_refuses(stand_in, tmp_path):
    super_path = tmp_path / "super.img"
    _write(super_path, _phone_layout())
    with open(super_path, "r+b") as f:  # both geometries broken: neither reader finds metadata
        for offset in (4096 + 40, 8192 + 40):
            f.seek(offset)
            f.write(b"\xff")
    result = subprocess.run(["make-dynpart-mappings", str(super_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 and "integrity check failed" in result.stderr
    with open(super_path, "rb") as f, pytest.raises(image.MetadataInvalid, match="checksum"):
        image.read_super(f)


def test_reads_what_the_virtual_phones_fastbootd_wrote(stand_in, tmp_path):
    phone = RunningHandset(tmp_path / "phone", android_profile(), start_mode=Mode.FASTBOOTD)
    try:
        wire = Wire(phone.address)
        data = bytes(range(256)) * 12289
        for command in ("resize-logical-partition:system_b:0", f"resize-logical-partition:system_b:{len(data)}",
                        "create-logical-partition:scratch:1048576"):
            assert wire.last(command).startswith(b"OKAY"), command
        assert wire.download(data)[-1] == b"OKAY" and wire.last("flash:system_b") == b"OKAYFlashing succeeded"
        wire.close()
        super_path = phone.handset.storage.path("super")
        with open(super_path, "rb") as f:
            metadata = image.read_super(f, 1)
        devices, _ = _mappings(stand_in, super_path, "1")
        assert devices == _expected(metadata, super_path)
        raw = super_path.read_bytes()
        mapped = b"".join(raw[int(sector) * 512 : (int(sector) + size) * 512]
                          for _start, size, _kind, _path, sector in devices["system_b"])
        assert mapped[: len(data)] == data
    finally:
        phone.stop()
