"""Payloads built to crash, exhaust or fool `tsuf payload`: each is refused by name, with a hint, without a
traceback, and nothing is written."""

import hashlib
import os
import struct
import zipfile

import pytest

from flasher.payload import operations
from tests.payload import generator
from tests.payload.conftest import firmware_image

IMAGE = firmware_image(11, 32)


def refused(result, out_dir, message: str) -> str:
    code, _, err = result
    assert code == 1, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("tsuf: ")]
    assert message in errors[0], err
    assert len(errors) == 2  # the error, then its hint
    assert not out_dir.exists() or os.listdir(out_dir) == []
    return errors[0]


def signed_ota(tmp_path, key, build, *, properties=True, metadata_key=None, name="ota.zip"):
    """An OTA zip whose payload `build(payload)` filled, signed with `key` (None: unsigned)."""
    payload = generator.Payload()
    build(payload)
    text = payload.write(tmp_path / "payload.bin", key, metadata_key=metadata_key)
    return generator.ota_zip(tmp_path / name, tmp_path / "payload.bin", text if properties else None)


def boot(payload):
    payload.add_full("boot", IMAGE, chunk_blocks=8)


@pytest.fixture
def extract(tsuf, tmp_path, trusted_store):
    out = tmp_path / "out"

    def run(ota, *extra):
        return tsuf("payload", "extract", ota, "--out", out, "--trust-store", trusted_store, *extra)
    run.out = out
    return run


def test_a_truncated_ota_zip(extract, tmp_path, oem_key):
    ota = signed_ota(tmp_path, oem_key, boot)
    data = ota.read_bytes()
    ota.write_bytes(data[:len(data) // 2])
    refused(extract(ota), extract.out, "zip")


def test_a_truncated_payload(extract, tmp_path, oem_key):
    signed_ota(tmp_path, oem_key, boot)
    payload = tmp_path / "payload.bin"
    payload.write_bytes(payload.read_bytes()[:-300])
    refused(extract(payload), extract.out, "the payload ends before its signatures")


def test_a_payload_cut_inside_its_header(extract, tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"CrAU" + struct.pack(">Q", 2))
    refused(extract(tmp_path / "payload.bin"), extract.out, "shorter than its 24-byte header")


def test_a_payload_cut_inside_its_manifest(extract, tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"CrAU" + struct.pack(">QQI", 2, 5000, 0) + b"\x08" * 100)
    refused(extract(tmp_path / "payload.bin"), extract.out, "its header says the manifest")


def test_a_huge_manifest_size(extract, tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"CrAU" + struct.pack(">QQI", 2, 1 << 62, 0) + bytes(100))
    refused(extract(tmp_path / "payload.bin"), extract.out, "claims a manifest of")


def test_a_huge_metadata_signature(extract, tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"CrAU" + struct.pack(">QQI", 2, 10, 0xFFFFFFFF) + bytes(100))
    refused(extract(tmp_path / "payload.bin"), extract.out, "metadata signature of")


def test_major_version_1(extract, tmp_path):
    (tmp_path / "payload.bin").write_bytes(b"CrAU" + struct.pack(">QQ", 1, 10) + bytes(100))
    refused(extract(tmp_path / "payload.bin"), extract.out, "major version 1")


def test_not_a_payload(extract, tmp_path):
    (tmp_path / "x.bin").write_bytes(os.urandom(1000))
    refused(extract(tmp_path / "x.bin"), extract.out, "neither an OTA zip nor a payload.bin")


def test_a_zip_without_payload(extract, tmp_path):
    with zipfile.ZipFile(tmp_path / "update.zip", "w") as archive:
        archive.writestr("META-INF/com/google/android/updater-script", "ui_print(\"hi\");")
    refused(extract(tmp_path / "update.zip"), extract.out, "without payload.bin")


def test_a_deflated_payload(extract, tmp_path, oem_key):
    signed_ota(tmp_path, oem_key, boot)
    with zipfile.ZipFile(tmp_path / "deflated.zip", "w") as archive:
        archive.write(tmp_path / "payload.bin", "payload.bin", compress_type=zipfile.ZIP_DEFLATED)
    refused(extract(tmp_path / "deflated.zip"), extract.out, "compressed in the zip")


def test_wrong_operation_data_hash(extract, tmp_path, oem_key):
    def build(payload):
        op = payload.data_op(operations.REPLACE, IMAGE, [(0, 32)], data_sha256=hashlib.sha256(b"other").digest())
        payload.add_partition("boot", len(IMAGE), hashlib.sha256(IMAGE).digest(), [op])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "data_sha256_hash")


def test_wrong_partition_hash(extract, tmp_path, oem_key):
    def build(payload):
        payload.add_full("boot", IMAGE, new_sha256=hashlib.sha256(b"another image").digest())
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "new_partition_info")


def test_only_the_bad_partition_is_named_and_none_is_written(extract, tmp_path, oem_key):
    def build(payload):
        payload.add_full("boot", IMAGE)
        payload.add_full("vendor", IMAGE, new_sha256=bytes(32))
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "vendor")


def test_a_blob_outside_the_file(extract, tmp_path, oem_key):
    def build(payload):
        op = generator.operation(operations.REPLACE, [(0, 32)], data_offset=1 << 40, data_length=4096,
                                 data_sha256=bytes(32))
        payload.add_partition("boot", len(IMAGE), hashlib.sha256(IMAGE).digest(), [op])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "outside the payload")


def test_an_extent_outside_the_partition(extract, tmp_path, oem_key):
    def build(payload):
        payload.add_partition("boot", 4096 * 4, bytes(32), [generator.operation(operations.ZERO, [(2, 1 << 40)])])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "outside the partition's 4 blocks")


def test_images_larger_than_the_disk(extract, tmp_path, oem_key):
    def build(payload):
        for index in range(8):
            payload.add_partition(f"huge{index}", 1 << 40, bytes(32), [generator.operation(operations.ZERO, [(0, 1)])])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "free")


def test_too_many_partitions(extract, tmp_path, oem_key):
    def build(payload):
        for index in range(257):
            payload.add_partition(f"p{index}", 4096, bytes(32), [generator.operation(operations.ZERO, [(0, 1)])])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "more than 256 partitions")


def test_an_odd_block_size(extract, tmp_path, oem_key):
    def build(payload):
        payload.block_size = 1000
        payload.add_partition("boot", 4000, bytes(32), [generator.operation(operations.ZERO, [(0, 4)])])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "block size 1000")


def test_a_partition_name_that_leaves_the_folder(extract, tmp_path, oem_key):
    def build(payload):
        payload.add_partition("../../etc/x", 4096, bytes(32), [generator.operation(operations.ZERO, [(0, 1)])])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "partition name")


@pytest.mark.parametrize("op_type, name", [(9, "PUFFDIFF"),
                                           (11, "ZUCCHINI"), (12, "LZ4DIFF_BSDIFF"), (13, "LZ4DIFF_PUFFDIFF"),
                                           (2, "MOVE"), (42, "unknown operation 42")])
def test_unsupported_operations_are_refused_by_name(extract, tmp_path, oem_key, op_type, name):
    def build(payload):
        payload.add_full("boot", IMAGE)
        op = payload.data_op(op_type, b"patch", [(0, 1)], src=[(0, 1)])
        payload.add_partition("system", 4096, bytes(32), [op])
    message = refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, name)
    assert "partition system" in message


def test_a_bsdiff_patch_in_another_format(extract, tmp_path, oem_key):
    old = firmware_image(12, 4)

    def build(payload):
        op = payload.data_op(operations.SOURCE_BSDIFF, b"ENDSLEY/BSDIFF43" + bytes(40), [(0, 4)], src=[(0, 4)])
        payload.add_partition("dtbo", len(old), bytes(32), [op], old=(len(old), hashlib.sha256(old).digest()))
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "dtbo.img").write_bytes(old)
    refused(extract(signed_ota(tmp_path, oem_key, build), "--source-dir", tmp_path / "source"), extract.out,
            "neither BSDIFF40 nor BSDF2")


def test_a_bsdf2_patch_that_declares_another_size(extract, tmp_path, oem_key):
    old = firmware_image(13, 4)
    patch = generator.bsdf2_patch(old, old[:4096 * 3])

    def build(payload):
        op = payload.data_op(operations.BROTLI_BSDIFF, patch, [(0, 4)], src=[(0, 4)])
        payload.add_partition("dtbo", len(old), bytes(32), [op])
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "dtbo.img").write_bytes(old)
    refused(extract(signed_ota(tmp_path, oem_key, build), "--source-dir", tmp_path / "source"), extract.out,
            "declares 12288 output bytes")


def test_compressed_data_larger_than_its_extents(extract, tmp_path, oem_key):
    import lzma

    def build(payload):
        op = payload.data_op(operations.REPLACE_XZ, lzma.compress(bytes(4096 * 64)), [(0, 2)])
        payload.add_partition("boot", 4096 * 2, bytes(32), [op])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "more data than its destination")


def test_data_that_does_not_decompress(extract, tmp_path, oem_key):
    def build(payload):
        op = payload.data_op(operations.REPLACE_BZ, b"BZh9" + os.urandom(200), [(0, 2)])
        payload.add_partition("boot", 4096 * 2, bytes(32), [op])
    refused(extract(signed_ota(tmp_path, oem_key, build)), extract.out, "does not decompress")


def test_signed_by_another_key(extract, tmp_path, other_key, tsuf, trusted_store):
    ota = signed_ota(tmp_path, other_key, boot)
    refused(extract(ota), extract.out, "does not verify")
    code, out, _ = tsuf("payload", "inspect", ota, "--trust-store", trusted_store)
    assert code == 1 and "signature: failed" in out


def test_metadata_signed_by_another_key(extract, tmp_path, oem_key, other_key):
    refused(extract(signed_ota(tmp_path, oem_key, boot, metadata_key=other_key)), extract.out, "does not verify")


def test_an_unsigned_payload(extract, tmp_path):
    refused(extract(signed_ota(tmp_path, None, boot)), extract.out, "could not be checked")


def test_no_trusted_certificate(tsuf, tmp_path, oem_key):
    ota = signed_ota(tmp_path, oem_key, boot)
    out = tmp_path / "out"
    refused(tsuf("payload", "extract", ota, "--out", out, "--trust-store", tmp_path / "empty"), out,
            "could not be checked")


def test_missing_properties(extract, tmp_path, oem_key):
    refused(extract(signed_ota(tmp_path, oem_key, boot, properties=False)), extract.out,
            "no payload_properties.txt")


def test_properties_missing_a_field(extract, tmp_path, oem_key):
    signed_ota(tmp_path, oem_key, boot)
    (tmp_path / "props.txt").write_text("FILE_SIZE=1\n")
    refused(extract(tmp_path / "payload.bin", "--properties", tmp_path / "props.txt"), extract.out,
            "lacks FILE_HASH, METADATA_HASH, METADATA_SIZE")


def test_a_payload_changed_after_signing(extract, tmp_path, oem_key):
    signed_ota(tmp_path, oem_key, boot)
    payload = tmp_path / "payload.bin"
    data = bytearray(payload.read_bytes())
    data[-400] ^= 1  # inside the last operation's data
    payload.write_bytes(data)
    ota = generator.ota_zip(tmp_path / "changed.zip", payload,
                            zipfile.ZipFile(tmp_path / "ota.zip").read("payload_properties.txt").decode())
    refused(extract(ota), extract.out, "not the file payload_properties.txt hashed")


def test_properties_of_another_payload(extract, tmp_path, oem_key):
    other = signed_ota(tmp_path / "..", oem_key, lambda payload: payload.add_full("boot", IMAGE[:4096 * 8]),
                       name="other.zip")
    signed_ota(tmp_path, oem_key, boot)
    ota = generator.ota_zip(tmp_path / "mixed.zip", tmp_path / "payload.bin",
                            zipfile.ZipFile(other).read("payload_properties.txt").decode())
    refused(extract(ota), extract.out, "payload_properties.txt says the metadata")


def test_metadata_changed_after_hashing(extract, tmp_path, oem_key):
    signed_ota(tmp_path, oem_key, boot)
    properties = zipfile.ZipFile(tmp_path / "ota.zip").read("payload_properties.txt").decode().splitlines()
    other = generator.base64.b64encode(hashlib.sha256(b"another manifest").digest()).decode()
    changed = "\n".join(f"METADATA_HASH={other}" if line.startswith("METADATA_HASH=") else line
                         for line in properties)
    ota = generator.ota_zip(tmp_path / "changed.zip", tmp_path / "payload.bin", changed)
    refused(extract(ota), extract.out, "metadata (header and manifest) is not the one")


def test_incremental_without_its_source(extract, tmp_path, oem_key):
    old = firmware_image(14, 8)
    ota = signed_ota(tmp_path, oem_key, lambda payload: payload.add_incremental("system", old, firmware_image(15, 8)))
    refused(extract(ota), extract.out, "--source-dir")
    (tmp_path / "source").mkdir()
    refused(extract(ota, "--source-dir", tmp_path / "source"), extract.out, "does not exist")
    (tmp_path / "source" / "system.img").write_bytes(firmware_image(16, 8))
    refused(extract(ota, "--source-dir", tmp_path / "source"), extract.out, "is not the system this payload")


def test_a_partition_not_in_the_payload(tsuf, tmp_path, oem_key, trusted_store):
    ota, out = signed_ota(tmp_path, oem_key, boot), tmp_path / "out"
    refused(tsuf("payload", "extract", ota, "recovery", "--out", out, "--trust-store", trusted_store), out,
            "no partition 'recovery'")


def test_the_deadline(extract, tmp_path, oem_key):
    refused(extract(signed_ota(tmp_path, oem_key, boot), "--deadline", "0.000001"), extract.out, "deadline")
