"""A demo bench: virtual handsets on every link, a factory build on them, a signed update.

`tsuf demo` and the desktop app's demo mode both start from it. It makes a
release key (trusted) and an OEM key (known to the handsets' verified boot),
builds two signed packages (factory and update), starts the handsets with
the factory build on slot a, and hands out one address per handset, the
links taken in turn (tcp, usb, udp, serial).
"""

import dataclasses
from pathlib import Path

from ..history.store import HistoryStore
from ..package import keys
from ..package.build import PackageDescription, build_package
from ..package.trust import TrustStore
from ..update.journal import Journal
from ..update.session import Station
from ..update.updater import Updater
from .emulator import Emulator
from .profile import default_profile
from .sample_images import write_image

LINKS = ("tcp", "usb", "udp", "serial")
PRODUCT = "tsuf_zte_ab"
FACTORY_BUILD, UPDATE_BUILD = "B120", "B130"


class DemoBench:
    def __init__(self, folder: Path, *, count: int = 4, links: tuple[str, ...] = LINKS,
                 boot_size: int = 16 << 20, system_size: int = 96 << 20):
        unknown = set(links) - set(LINKS)
        if unknown or not links:
            raise ValueError(f"links must be among {', '.join(LINKS)}")
        self.folder = Path(folder)
        self.count, self.links = count, tuple(links)
        self.sizes = {"boot": boot_size, "system": system_size}
        self.trust_store = TrustStore(self.folder / "trust")
        self.station = Station("demo", HistoryStore(self.folder / "history.sqlite"), self.folder / "logs",
                               Journal(self.folder / "journal"))
        self.addresses: list[str] = []
        self.emulator: Emulator | None = None
        self._usb_bus = None

    def __enter__(self) -> "DemoBench":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        release, oem = keys.generate_key(), keys.generate_key()
        _, release_public = keys.write_key_pair(release, self.folder / "keys", "release")
        self.trust_store.import_key(release_public)
        self.factory_package = self._package(FACTORY_BUILD, 1, release, oem, seed=10)
        self.update_package = self._package(UPDATE_BUILD, 2, release, oem, seed=20)
        oem_public = keys.public_pem(oem.public_key).decode()

        def profile_for(serialno: str):
            return dataclasses.replace(default_profile(serialno), oem_public_key=oem_public)
        link_of = [self.links[index % len(self.links)] for index in range(self.count)]
        self.emulator = Emulator(self.folder / "handsets", count=self.count, profile_for=profile_for,
                                 udp_base_port=0 if "udp" in link_of else None, serial="serial" in link_of)
        self.emulator.start()
        with Updater(self.factory_package, self.trust_store, self.station) as factory_line:
            factory_line.prepare()
            for handset in self.emulator.handsets:
                handset.factory_flash(factory_line.images)
        if "usb" in link_of:
            from ..transport import usb
            from .usb_backend import VirtualUsbBus
            self._usb_bus = VirtualUsbBus()
            usb.use_backend(self._usb_bus)
        emulator = self.emulator
        for index, (handset, link) in enumerate(zip(emulator.handsets, link_of)):
            if link == "usb":
                self._usb_bus.attach(handset)
                self.addresses.append(f"usb:{handset.serialno}")
            else:
                by_link = {"tcp": emulator.addresses, "udp": emulator.udp_addresses,
                           "serial": emulator.serial_addresses}[link]
                self.addresses.append(by_link[index])

    def _package(self, build: str, rollback_index: int, release, oem, *, seed: int) -> Path:
        images = self.folder / f"images-{build}"
        images.mkdir(parents=True)
        write_image(images / "boot.img", self.sizes["boot"], seed=seed, content_fraction=0.6)
        write_image(images / "system.img", self.sizes["system"], seed=seed + 1)
        description = PackageDescription(hw_revisions=("10000",), build=build, rollback_index=rollback_index,
                                         product=PRODUCT, min_battery_mv=3600)
        output = self.folder / f"{PRODUCT}-{build}.zip"
        build_package(images, description, [release], output, oem_key=oem)
        return output

    def close(self) -> None:
        if self._usb_bus is not None:
            from ..transport import usb
            self._usb_bus.close()
            usb.use_backend(None)
            self._usb_bus = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
