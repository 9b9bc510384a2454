"""Manufacturers' OTAs (payload.bin) for the bench's product: a full one its virtual handsets boot, and an
incremental one."""

import hashlib
import os
from pathlib import Path

from flasher.package.bootmeta import make_boot_metadata
from tests.payload import generator
from tests.support.packages import PRODUCT, Keys
from tests.support.releases import ROLLBACK

MiB = 1 << 20


def oem_certificate(folder: Path, key) -> Path:
    """The OTA certificate of an OEM signing key, as `tsuf payload trust` takes it."""
    path = folder / f"otacert-{id(key):x}.pem"
    path.write_bytes(generator.certificate_pem(key))
    return path


def full_ota(path: Path, keys: Keys, oem_key, build: str = "B140") -> dict[str, bytes]:
    """Write the OTA of `build` (boot, system, vbmeta with boot metadata the handsets' OEM key signs) to
    `path`, its payload signed with `oem_key`; returns its images."""
    images = {"boot": os.urandom(MiB // 2) + bytes(MiB // 2), "system": os.urandom(3 * MiB) + bytes(4096)}
    images["vbmeta"] = make_boot_metadata(
        {partition: (len(data), hashlib.sha256(data).hexdigest()) for partition, data in images.items()},
        ROLLBACK["B130"], keys.oem, build)
    payload = generator.Payload()
    for partition, data in images.items():
        payload.add_full(partition, data)
    _zip(path, payload, oem_key, _metadata(build))
    return images


def incremental_ota(path: Path, oem_key, source: str = "B130", build: str = "B140") -> Path:
    """The OTA from `source` to `build` of a boot image with a few edits, its payload signed with `oem_key`."""
    old = os.urandom(32 * 4096)
    new = bytearray(old)
    new[5000:5008] = os.urandom(8)
    payload = generator.Payload()
    payload.add_incremental("boot", old, bytes(new))
    _zip(path, payload, oem_key, _metadata(build) + f"pre-build-incremental={source}\n")
    return path


def _metadata(build: str) -> str:
    return (f"ota-type=AB\npre-device={PRODUCT}\npost-build=TSUF/{PRODUCT}/{PRODUCT}:14/X/{build}:user/"
            "release-keys\n")


def _zip(path: Path, payload: generator.Payload, oem_key, metadata: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload_path = path.with_name(path.name + ".payload.bin")
    properties = payload.write(payload_path, oem_key)
    generator.ota_zip(path, payload_path, properties, None, metadata)
    payload_path.unlink()
