import hashlib

import pytest

from flasher.package import keys
from flasher.package.bootmeta import MAX_SIZE, BootImage, make_boot_metadata, parse_and_verify_boot_metadata
from flasher.package.errors import BootMetadataError

PARTITIONS = {"system": (6 << 20, "cd" * 32), "boot": (2 << 20, "ab" * 32)}


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_round_trip(algorithm):
    key = keys.generate_key(algorithm)
    data = make_boot_metadata(PARTITIONS, 7, key)
    assert data.startswith(b"TSUFBOOT") and len(data) < 1024
    metadata = parse_and_verify_boot_metadata(data, key.public_key)
    assert metadata.rollback_index == 7
    assert metadata.images == (BootImage("boot", 2 << 20, "ab" * 32), BootImage("system", 6 << 20, "cd" * 32))
    assert metadata.image("system").size == 6 << 20 and metadata.image("vendor") is None


def test_read_back_from_a_partition_ignores_what_follows(release_key):
    data = make_boot_metadata(PARTITIONS, 1, release_key, "B130")
    old_bytes = b"\xff" * (MAX_SIZE - len(data))
    metadata = parse_and_verify_boot_metadata(data + old_bytes, release_key.public_key)
    assert (metadata.rollback_index, metadata.build) == (1, "B130")


def test_another_key_is_refused(release_key):
    data = make_boot_metadata(PARTITIONS, 1, release_key)
    with pytest.raises(BootMetadataError, match="does not verify"):
        parse_and_verify_boot_metadata(data, keys.generate_key().public_key)
    with pytest.raises(BootMetadataError, match="algorithm"):
        parse_and_verify_boot_metadata(data, keys.generate_key("ecdsa-p256").public_key)


def test_every_changed_byte_is_refused(release_key):
    data = make_boot_metadata({"boot": (4096, hashlib.sha256(b"x").hexdigest())}, 3, release_key)
    for offset in range(len(data)):
        changed = bytearray(data)
        changed[offset] ^= 0x01
        with pytest.raises(BootMetadataError):
            parse_and_verify_boot_metadata(bytes(changed), release_key.public_key)


@pytest.mark.parametrize("cut", [0, 8, 16, 40, -1])
def test_truncated_metadata_is_refused(release_key, cut):
    data = make_boot_metadata(PARTITIONS, 1, release_key)
    with pytest.raises(BootMetadataError):
        parse_and_verify_boot_metadata(data[:cut], release_key.public_key)


@pytest.mark.parametrize("partitions, rollback_index", [
    ({}, 1),
    ({"Boot": (1, "ab" * 32)}, 1),
    ({"boot": (0, "ab" * 32)}, 1),
    ({"boot": (1, "xyz")}, 1),
    (PARTITIONS, 1 << 32),
    ({f"p{i}": (1, "ab" * 32) for i in range(65)}, 1),
])
def test_bad_contents_are_not_made(release_key, partitions, rollback_index):
    with pytest.raises(BootMetadataError):
        make_boot_metadata(partitions, rollback_index, release_key)


def test_the_largest_allowed_metadata_fits_a_vbmeta_partition(release_key):
    partitions = {f"partition_{i:02}_{'x' * 20}": (1 << 36, "ab" * 32) for i in range(64)}
    assert len(make_boot_metadata(partitions, (1 << 32) - 1, release_key)) <= MAX_SIZE
