"""A source build, a target build and the delta package between them, small enough for CI."""

import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from flasher.delta.build import build_delta_package
from flasher.package.build import PackageDescription
from flasher.package.keys import generate_key, public_pem
from flasher.package.manifest import canonical_json, parse_manifest
from flasher.package.trust import TrustStore

KiB = 1 << 10
WINDOW = 256 * KiB
TARGET = PackageDescription(product="P855A01", hw_revisions=("r1",), build="B131", rollback_index=8,
                            unslotted=frozenset({"misc"}))
# partition -> the method the builder should pick
METHODS = {"system": "patch", "boot": "copy", "vendor": "whole", "radio": "whole"}


def edited(data: bytes, rng: random.Random) -> bytes:
    """What a new build does to a file system image, in small: 8-byte edits in every fifth 4 KiB block,
    two 64 KiB regions that swap places (moved file data), a 20 KiB insertion on a block boundary, and
    a 3 KiB one off it (everything after it moves by a fraction of a block)."""
    out = bytearray(data)
    for block in range(0, len(out) // 4096, 5):
        for _ in range(4):
            at = block * 4096 + rng.randrange(4096 - 8)
            out[at:at + 8] = rng.randbytes(8)
    first, second = len(out) // 5 // 4096 * 4096, 3 * len(out) // 5 // 4096 * 4096
    out[first:first + 64 * KiB], out[second:second + 64 * KiB] = (out[second:second + 64 * KiB],
                                                                  out[first:first + 64 * KiB])
    at = len(out) // 3 // 4096 * 4096
    out[at:at] = rng.randbytes(20 * KiB)
    out[2 * len(out) // 3:2 * len(out) // 3] = rng.randbytes(3 * KiB)
    return bytes(out)


def firmware_like(size: int, rng: random.Random) -> bytes:
    blocks = [rng.randbytes(4096) if rng.random() < 0.6 else bytes(4096) for _ in range(size // 4096)]
    return b"".join(blocks)


@dataclass
class DeltaBuild:
    source: Path  # folder of the source build's images
    target: Path
    package: Path
    key: object
    store: TrustStore

    def source_image(self, partition: str) -> Path | None:
        path = self.source / f"{partition}.img"
        return path if path.exists() else None

    def target_bytes(self, partition: str) -> bytes:
        return (self.target / f"{partition}.img").read_bytes()


@pytest.fixture(scope="session")
def delta_build(tmp_path_factory) -> DeltaBuild:
    rng = random.Random(7)
    root = tmp_path_factory.mktemp("delta")
    source, target = root / "source", root / "target"
    source.mkdir()
    target.mkdir()
    system = firmware_like(1536 * KiB, rng)
    images = {
        "system": (system, edited(system, rng)),
        "boot": (rng.randbytes(64 * KiB),) * 2,
        "vendor": (None, rng.randbytes(32 * KiB)),       # new in the target
        "radio": (rng.randbytes(96 * KiB), rng.randbytes(96 * KiB)),  # rewritten: a patch would not pay
    }
    for partition, (old, new) in images.items():
        if old is not None:
            (source / f"{partition}.img").write_bytes(old)
        (target / f"{partition}.img").write_bytes(new)
    key = generate_key("ed25519")
    store = TrustStore(root / "trust")
    (root / "release.pub.pem").write_bytes(public_pem(key.public_key))
    store.import_key(root / "release.pub.pem")
    package = root / "delta.zip"
    build_delta_package(source, target, [key], package, description=TARGET, source_build="B130", workers=2,
                        window_size=WINDOW)
    return DeltaBuild(source, target, package, key, store)


def rewrite_package(package: Path, output: Path, key, change) -> Path:
    """Copy a package, letting `change(manifest_dict, entries)` alter it, then sign the manifest again.

    `entries` maps entry names to their bytes; the manifest is re-encoded canonically.
    """
    with zipfile.ZipFile(package) as archive:
        entries = {info.filename: (archive.read(info), info.compress_type) for info in archive.infolist()}
    manifest = json.loads(entries.pop("manifest.json")[0])
    for name in [name for name in entries if name.startswith("signatures/")]:
        del entries[name]
    data = {name: value for name, (value, _) in entries.items()}
    change(manifest, data)
    manifest_bytes = canonical_json(manifest)
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("manifest.json", manifest_bytes, zipfile.ZIP_DEFLATED)
        archive.writestr(f"signatures/{key.key_id}.sig", key.sign(manifest_bytes), zipfile.ZIP_STORED)
        for name, value in data.items():
            method = entries[name][1] if name in entries else zipfile.ZIP_STORED
            archive.writestr(name, value, method)
    return output


def window_patch(package: Path, partition: str, index: int) -> bytes:
    """One window's patch, cut out of patches/<partition>.bsdiff at the offset the manifest's sizes give."""
    with zipfile.ZipFile(package) as archive:
        delta = parse_manifest(archive.read("manifest.json")).image(partition).delta
        patches = archive.read(f"patches/{partition}.bsdiff")
    start = delta.patch_offsets()[index]
    return patches[start:start + delta.windows[index].patch_size]
