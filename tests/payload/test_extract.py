"""Partitions extracted from real payloads are byte for byte the images they were made from."""

import json
import os
import zipfile

import pytest

from flasher.payload import operations
from flasher.payload.reader import read_payload
from tests.payload import generator
from tests.payload.conftest import changed, firmware_image


def test_full_ota_extracts_every_partition_byte_identical(tsuf, tmp_path, full_ota, trusted_store, images):
    code, out, err = tsuf("payload", "extract", full_ota, "--out", tmp_path / "out", "--trust-store", trusted_store)
    assert code == 0, err
    for name, image in images.items():
        assert (tmp_path / "out" / f"{name}.img").read_bytes() == image
        assert f"{name}.img" in out
    assert sorted(os.listdir(tmp_path / "out")) == ["boot.img", "vendor.img"]  # no partial files left


def test_one_partition_is_extracted_alone(tsuf, tmp_path, full_ota, trusted_store, images):
    code, _, err = tsuf("payload", "extract", full_ota, "vendor", "--out", tmp_path / "out",
                        "--trust-store", trusted_store)
    assert code == 0, err
    assert os.listdir(tmp_path / "out") == ["vendor.img"]
    assert (tmp_path / "out" / "vendor.img").read_bytes() == images["vendor"]


@pytest.mark.parametrize("compression", ["xz", "bz2", "raw"])
def test_each_replace_operation(tsuf, tmp_path, oem_key, trusted_store, compression):
    image = firmware_image(7, 64)
    payload = generator.Payload()
    payload.add_full("boot", image, compression=compression, chunk_blocks=16)
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    (tmp_path / "payload_properties.txt").write_text(properties)
    code, _, err = tsuf("payload", "extract", tmp_path / "payload.bin", "--properties",
                        tmp_path / "payload_properties.txt", "--out", tmp_path / "out", "--trust-store", trusted_store)
    assert code == 0, err
    assert (tmp_path / "out" / "boot.img").read_bytes() == image


def test_discard_reads_as_zeros(tsuf, tmp_path, oem_key, trusted_store):
    payload = generator.Payload()
    data = os.urandom(4096 * 2)
    replace = payload.data_op(operations.REPLACE, data, [(0, 2)])
    image = data + bytes(4096 * 3)
    payload.add_partition("misc", len(image), generator.hashlib.sha256(image).digest(),
                          [replace, generator.operation(operations.DISCARD, [(2, 3)])])
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties)
    code, _, err = tsuf("payload", "extract", ota, "--out", tmp_path / "out", "--trust-store", trusted_store)
    assert code == 0, err
    assert (tmp_path / "out" / "misc.img").read_bytes() == image


@pytest.mark.parametrize("diff", ["bsdiff40", "brotli", "mixed"])
def test_incremental_ota_from_the_source_build(tsuf, tmp_path, oem_key, trusted_store, diff):
    old = firmware_image(3, 96)
    new = changed(old, 4) + firmware_image(5, 8)
    payload = generator.Payload(minor_version=6)
    payload.add_incremental("system", old, new, diff=diff)
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties)
    code, out, _ = tsuf("payload", "inspect", ota, "--trust-store", trusted_store, "--json")
    assert code == 0 and json.loads(out)["kind"] == "incremental"
    counts = read_payload(ota).manifest.partitions[0].operation_counts()
    assert counts["SOURCE_COPY"] and (counts.get("SOURCE_BSDIFF") or counts.get("BROTLI_BSDIFF"))
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "system.img").write_bytes(old)
    code, _, err = tsuf("payload", "extract", ota, "--out", tmp_path / "out", "--source-dir", tmp_path / "source",
                        "--trust-store", trusted_store)
    assert code == 0, err
    assert (tmp_path / "out" / "system.img").read_bytes() == new


def test_bsdf2_with_bz2_streams(tmp_path, oem_key, trusted_store, tsuf):
    old = firmware_image(8, 16)
    new = changed(old, 9)
    payload = generator.Payload(minor_version=6)
    patch = generator.bsdf2_patch(old, new, "bz2")
    op = payload.data_op(operations.SOURCE_BSDIFF, patch, [(0, 16)], src=[(0, 16)], src_length=len(old),
                         dst_length=len(new), src_sha256=generator.hashlib.sha256(old).digest())
    payload.add_partition("dtbo", len(new), generator.hashlib.sha256(new).digest(), [op],
                          old=(len(old), generator.hashlib.sha256(old).digest()))
    properties = payload.write(tmp_path / "payload.bin", oem_key)
    ota = generator.ota_zip(tmp_path / "ota.zip", tmp_path / "payload.bin", properties)
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "dtbo.img").write_bytes(old)
    code, _, err = tsuf("payload", "extract", ota, "--out", tmp_path / "out", "--source-dir", tmp_path / "source",
                        "--trust-store", trusted_store)
    assert code == 0, err
    assert (tmp_path / "out" / "dtbo.img").read_bytes() == new


def test_payload_is_read_in_place_inside_the_zip(tmp_path, full_ota):
    """payload.bin is stored: its bytes are found after its local header, whatever extra field that has."""
    with zipfile.ZipFile(full_ota) as archive:
        info = archive.getinfo("payload.bin")
        expected = archive.read(info)
    payload = read_payload(full_ota)
    assert payload.file.start > info.header_offset and payload.file.size == len(expected)
    assert payload.file.read(0, 64, "start") == expected[:64]


def test_inspect_reports_partitions_operations_and_signature(tsuf, full_ota, trusted_store, images):
    code, out, err = tsuf("payload", "inspect", full_ota, "--trust-store", trusted_store, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "full"
    assert report["signature"]["status"] == "verified"
    assert report["properties"]["status"] == "verified"
    by_name = {entry["name"]: entry for entry in report["partitions"]}
    assert by_name["boot"]["size"] == len(images["boot"])
    assert by_name["boot"]["sha256"] == generator.hashlib.sha256(images["boot"]).hexdigest()
    assert {"REPLACE_XZ", "REPLACE_BZ"} <= set(by_name["boot"]["operations"]) <= {"REPLACE_XZ", "REPLACE_BZ",
                                                                                   "REPLACE", "ZERO"}


def test_signature_is_not_available_without_a_trusted_certificate(tsuf, tmp_path, full_ota):
    code, out, _ = tsuf("payload", "inspect", full_ota, "--trust-store", tmp_path / "empty")
    assert code == 0
    assert "signature: not available" in out


def test_otacert_flag_uses_the_zips_certificate(tsuf, tmp_path, full_ota, images):
    code, out, err = tsuf("payload", "extract", full_ota, "boot", "--out", tmp_path / "out", "--otacert",
                          "--trust-store", tmp_path / "empty")
    assert code == 0, err
    assert (tmp_path / "out" / "boot.img").read_bytes() == images["boot"]
