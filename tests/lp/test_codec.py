"""LP metadata: what TSUF writes reads back the same; hostile bytes are named errors."""

import dataclasses
import hashlib
import io
import random
import struct

import pytest

from flasher.lp import MetadataInvalid, image, layout
from flasher.lp.codec import decode_geometry, decode_metadata, encode_geometry, encode_metadata
from flasher.lp.format import GEOMETRY_SIZE, HEADER_FLAG_VIRTUAL_AB, Geometry

MiB = 1 << 20


def _layout(**options):
    metadata = layout.new_layout("super", 32 * MiB, {"main_a": 12 * MiB, "main_b": 12 * MiB},
                                 {"system_a": "main_a", "system_b": "main_b", "vendor_a": "main_a"}, **options)
    return layout.resize(layout.resize(metadata, "system_a", 5 * MiB), "vendor_a", 1 * MiB)


def _resigned(blob: bytes, **changes) -> bytes:
    """A header with fields changed and checksums made right again, as an attacker would."""
    header = bytearray(blob[:128])
    offsets = {"tables_size": 44, "partitions_count": 84, "extents_count": 96, "extents_offset": 92,
               "partitions_entry_size": 88}
    for name, value in changes.items():
        struct.pack_into("<I", header, offsets[name], value)
    tables_size = struct.unpack_from("<I", header, 44)[0]
    header[48:80] = hashlib.sha256(blob[128 : 128 + tables_size]).digest()
    header[12:44] = bytes(32)
    header[12:44] = hashlib.sha256(bytes(header)).digest()
    return bytes(header) + blob[128:]


def test_a_super_image_reads_back_every_slot():
    metadata = _layout()
    f = io.BytesIO(bytes(32 * MiB))
    image.write_super(f, metadata)
    for slot in range(metadata.geometry.metadata_slot_count):
        assert image.read_super(f, slot) == metadata


def test_super_empty_reads_back_and_is_told_from_a_super_image():
    metadata = _layout(virtual_ab=True, slot_count=3)
    data = image.super_empty_bytes(metadata)
    assert image.is_super_empty(data)
    again = image.read_super_empty(data)
    assert again == metadata and again.header_flags == HEADER_FLAG_VIRTUAL_AB and again.minor_version == 2
    f = io.BytesIO(bytes(32 * MiB))
    image.write_super(f, metadata)
    assert not image.is_super_empty(f.getvalue())


def test_the_backup_serves_when_the_primary_is_damaged():
    metadata = _layout()
    f = io.BytesIO(bytes(32 * MiB))
    image.write_super(f, metadata)
    f.seek(4096 + 8)
    f.write(b"\0" * 32)  # primary geometry checksum
    f.seek(metadata.geometry.primary_offset(1) + 200)
    f.write(b"\xee")
    assert image.read_super(f, 1) == metadata


@pytest.mark.parametrize("changes, words", [
    ({"tables_size": 0xFFFFFFF0}, "do not fit"),
    ({"partitions_count": 0x7FFFFFFF}, "past the end"),
    ({"extents_offset": 0xFFFFFFFF}, "past the end"),
    ({"partitions_entry_size": 1}, "entries of 1 bytes"),
])
def test_huge_or_odd_counts_with_right_checksums_are_refused_before_allocating(changes, words):
    metadata = _layout()
    blob = _resigned(encode_metadata(metadata), **changes)
    with pytest.raises(MetadataInvalid, match=words):
        decode_metadata(blob, metadata.geometry)


def test_geometry_limits_are_checked():
    for geometry, words in ((Geometry(1 << 30, 2), "slots of"), (Geometry(65536, 0), "0 metadata slots"),
                            (Geometry(65536, 2, 100), "block size")):
        with pytest.raises(MetadataInvalid, match=words):
            decode_geometry(encode_geometry(geometry))


def test_an_extent_outside_super_or_a_missing_group_is_refused():
    metadata = _layout()
    grown = layout.resize(metadata, "system_a", 6 * MiB)
    device = metadata.super_device
    small = dataclasses.replace(grown, block_devices=(dataclasses.replace(device, size=4 * MiB),))
    with pytest.raises(MetadataInvalid, match="outside block device"):
        decode_metadata(encode_metadata(small), small.geometry)
    partition = dataclasses.replace(grown.partitions[0], group_index=9)
    orphan = dataclasses.replace(grown, partitions=(partition,))
    with pytest.raises(MetadataInvalid, match="group that does not exist"):
        decode_metadata(encode_metadata(orphan), orphan.geometry)


def test_names_must_be_plain():
    metadata = _layout()
    blob = bytearray(encode_metadata(metadata))
    blob[128 + 1] = 0x07  # a control character in system_a's name
    with pytest.raises(MetadataInvalid, match="invalid name"):
        decode_metadata(_resigned(bytes(blob)), metadata.geometry)


def test_random_damage_is_always_a_named_error():
    metadata = _layout()
    pristine = image.super_empty_bytes(metadata)
    rng = random.Random(15)
    for _ in range(500):
        data = bytearray(pristine)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = bytes(data[: rng.choice((len(data), rng.randrange(len(data))))])
        try:
            image.read_super_empty(cut)
        except MetadataInvalid:
            pass


def test_metadata_that_outgrows_its_slot_is_refused():
    metadata = layout.new_layout("super", 32 * MiB, {"g": 0}, {f"p{i}": "g" for i in range(30)},
                                 metadata_max_size=1024)
    with pytest.raises(MetadataInvalid, match="outgrows"):
        encode_metadata(metadata)


def test_short_inputs():
    with pytest.raises(MetadataInvalid, match="too short"):
        image.read_super_empty(b"gDla")
    with pytest.raises(MetadataInvalid, match="no logical partition geometry"):
        image.read_super(io.BytesIO(bytes(3 * GEOMETRY_SIZE)))
