"""Signed packages and the keys to trust them, for update tests."""

import os
from dataclasses import dataclass
from pathlib import Path

from flasher.package import keys
from flasher.package.build import PackageDescription, build_package
from flasher.package.trust import TrustStore

PRODUCT = "tsuf_zte_ab"


@dataclass
class Keys:
    signing: keys.SigningKey
    oem: keys.SigningKey
    trust_store: TrustStore

    @property
    def oem_public_pem(self) -> str:
        return keys.public_pem(self.oem.public_key).decode()


def make_keys(folder: Path) -> Keys:
    signing, oem = keys.generate_key(), keys.generate_key()
    _, public = keys.write_key_pair(signing, folder / "keys", "release")
    store = TrustStore(folder / "trust")
    store.import_key(public)
    return Keys(signing, oem, store)


def make_images(folder: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, (partition, size) in enumerate(sizes.items()):
        content = os.urandom(size // 2)
        (folder / f"{partition}.img").write_bytes(content + bytes([seed + number + 1]) * (size - len(content)))
    return folder


def make_package(folder: Path, keyring: Keys, *, build: str = "B130", rollback_index: int = 5,
                 product: str = PRODUCT, sizes: dict[str, int] | None = None, seed: int = 0,
                 hw_revisions: tuple[str, ...] = ("10000",), min_battery_mv: int = 3600,
                 unslotted: frozenset[str] = frozenset()) -> Path:
    images = make_images(folder / f"images-{build}-{seed}",
                         sizes or {"boot": 1 << 20, "system": 3 << 20}, seed)
    variant = "" if (hw_revisions, min_battery_mv, unslotted) == (("10000",), 3600, frozenset()) else \
        f"-{'-'.join(hw_revisions)}-{min_battery_mv}-{'-'.join(sorted(unslotted))}"
    output = folder / f"{product}-{build}-{seed}{variant}.zip"
    build_package(images, PackageDescription(hw_revisions=hw_revisions, build=build, rollback_index=rollback_index,
                                             product=product, min_battery_mv=min_battery_mv, unslotted=unslotted),
                  [keyring.signing], output, oem_key=keyring.oem)
    return output


def make_ota_package(folder: Path, keyring: Keys, *, build: str = "B130", rollback_index: int = 5,
                     product: str = PRODUCT, sizes: dict[str, int] | None = None, seed: int = 0,
                     signer: keys.SigningKey | None = None, install: str = "sideload") -> Path:
    """A package for recovery: `install: sideload`, signed with the handsets' OEM key (or `signer`)."""
    images = make_images(folder / f"images-ota-{build}-{seed}", sizes or {"boot": 1 << 20, "system": 3 << 20}, seed)
    output = folder / f"{product}-{build}-{seed}-ota.zip"
    build_package(images, PackageDescription(hw_revisions=("10000",), build=build, rollback_index=rollback_index,
                                             product=product, min_battery_mv=3600),
                  [signer or keyring.oem], output, oem_key=keyring.oem, install=install)
    return output


def provision(handsets, package: Path, keyring: Keys, station) -> None:
    """Give handsets a factory build on slot a, from a signed package."""
    from flasher.update.updater import Updater
    with Updater(package, keyring.trust_store, station) as factory:
        factory.prepare()
        for handset in handsets:
            assert handset.factory_flash(factory.images) == "a"
