"""A publisher's folder for catalog tests: three builds of one product and a delta between two.

B110 and B120 are unrelated images, B130 is B120 with a few scattered edits (a monthly
update), so the delta B120 -> B130 is small. All are signed by one release key and
carry boot metadata signed by the OEM key, so virtual handsets boot them.
"""

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from flasher.delta.build import build_delta_package
from flasher.package.build import PackageDescription, build_package
from tests.support.packages import PRODUCT, Keys, make_keys

SIZES = {"boot": 512 << 10, "system": 2 << 20}
ROLLBACK = {"B110": 1, "B120": 1, "B130": 2}


@dataclass
class Releases:
    keys: Keys
    folder: Path  # what the publisher serves: the packages, and the catalog once built
    full: dict[str, Path]  # build -> full package
    delta: Path  # B120 -> B130

    @property
    def packages(self) -> list[Path]:
        return [*self.full.values(), self.delta]


def make_releases(root: Path) -> Releases:
    rng = random.Random(1130)
    keys = make_keys(root)
    folder = root / "published"
    folder.mkdir()
    b110 = {name: rng.randbytes(size // 2) + bytes(size - size // 2) for name, size in SIZES.items()}
    b120 = {name: rng.randbytes(size // 2) + bytes(size - size // 2) for name, size in SIZES.items()}
    b130 = {}
    for name, data in b120.items():
        edited = bytearray(data)
        for offset in range(1000, len(edited) // 2, 97_000):
            edited[offset:offset + 64] = rng.randbytes(64)
        b130[name] = bytes(edited)
    full = {build: _full(root / f"images-{build}", folder / f"{PRODUCT}-{build}.zip", keys, build, images)
            for build, images in (("B110", b110), ("B120", b120), ("B130", b130))}
    delta = folder / "deltas" / f"{PRODUCT}-B120-B130.zip"
    delta.parent.mkdir()
    build_delta_package(full["B120"], full["B130"], [keys.signing], delta, trust_store=keys.trust_store)
    return Releases(keys, folder, full, delta)


def _full(images_folder: Path, output: Path, keys: Keys, build: str, images: dict[str, bytes]) -> Path:
    images_folder.mkdir()
    for partition, data in images.items():
        (images_folder / f"{partition}.img").write_bytes(data)
    build_package(images_folder, PackageDescription(hw_revisions=("10000",), build=build,
                                                    rollback_index=ROLLBACK[build], product=PRODUCT,
                                                    min_battery_mv=3600), [keys.signing], output, oem_key=keys.oem)
    return output


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))
        file.flush()
        os.fsync(file.fileno())


@pytest.fixture(scope="session")
def releases(tmp_path_factory) -> Releases:
    """Import it into a test folder's conftest.py to use it there."""
    return make_releases(tmp_path_factory.mktemp("releases"))
