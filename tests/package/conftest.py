"""Keys, trust stores and small packages for the package tests."""

import os
import zipfile
from pathlib import Path

import pytest

from flasher.package.build import PackageDescription, build_package
from flasher.package.keys import generate_key, public_pem
from flasher.package.trust import TrustStore

DESCRIPTION = PackageDescription(product="P855A01", hw_revisions=("r1", "r2"), build="B130", rollback_index=7,
                                 min_battery_mv=3600, unslotted=frozenset({"misc"}))


@pytest.fixture(scope="session")
def release_key():
    return generate_key("ed25519")


@pytest.fixture(scope="session")
def other_key():
    return generate_key("ecdsa-p256")


@pytest.fixture
def store(tmp_path, release_key):
    """A trust store that trusts release_key only."""
    store = TrustStore(tmp_path / "trust")
    public = tmp_path / "release.pub.pem"
    public.write_bytes(public_pem(release_key.public_key))
    store.import_key(public)
    return store


def write_images(folder: Path, seed: bytes = b"A") -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    images = {"boot": os.urandom(96 * 1024) + seed * 4096, "system": bytes(200 * 1024) + os.urandom(4096),
              "misc": seed * 8192}
    for name, data in images.items():
        (folder / f"{name}.img").write_bytes(data)
    return images


@pytest.fixture
def package(tmp_path, release_key):
    """A package of three images signed by release_key, images stored uncompressed; returns (path, images)."""
    images = write_images(tmp_path / "images")
    path = tmp_path / "release.zip"
    build_package(tmp_path / "images", DESCRIPTION, [release_key], path, compression="stored")
    return path, images


def entries_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(path: Path, entries: dict[str, bytes] | list[tuple[str, bytes]],
              compression: int = zipfile.ZIP_STORED) -> Path:
    """A zip with exactly these entries, in this order (a list allows duplicate names)."""
    items = entries.items() if isinstance(entries, dict) else entries
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in items:
            archive.writestr(zipfile.ZipInfo(name), data, compression)
    return path
