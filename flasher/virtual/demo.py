"""A demo bench: virtual handsets on every link, a factory build on them, signed updates and their catalog.

`tsuf demo` and the desktop app's demo mode both start from it. It makes a
release key (trusted) and an OEM key (known to the handsets' verified boot and
recovery, and trusted too), builds three signed packages (factory, update, and
the update as the manufacturer ships it for locked handsets: OEM-signed,
installed through recovery), lists them in a catalog signed by the release key,
starts the handsets with the factory build on slot a, and hands out one address
per handset, the links taken in turn (tcp, usb, udp, serial). With `locked` and
USB among the links, one more handset has a locked bootloader and sits on the
emulated USB bus, as an end user's phone does.
"""

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..catalog.build import build_catalog
from ..catalog.trusted import SeenCatalogs
from ..history.store import HistoryStore
from ..package import keys
from ..package.build import PackageDescription, build_package
from ..package.trust import TrustStore
from ..selection.latest import LatestUpdate
from ..update.journal import Journal
from ..update.session import Station
from ..update.updater import Updater
from .emulator import Emulator, serial_for
from .profile import default_profile
from .sample_images import write_image

LINKS = ("tcp", "usb", "udp", "serial")
PRODUCT = "tsuf_zte_ab"
FACTORY_BUILD, UPDATE_BUILD = "B120", "B130"


class DemoBench:
    def __init__(self, folder: Path, *, count: int = 4, links: tuple[str, ...] = LINKS, locked: bool = True,
                 boot_size: int = 16 << 20, system_size: int = 96 << 20):
        unknown = set(links) - set(LINKS)
        if unknown or not links:
            raise ValueError(f"links must be among {', '.join(LINKS)}")
        self.folder = Path(folder)
        self.count, self.links = count, tuple(links)
        self.locked = locked and "usb" in self.links
        self.sizes = {"boot": boot_size, "system": system_size}
        self.trust_store = TrustStore(self.folder / "trust")
        self.station = Station("demo", HistoryStore(self.folder / "history.sqlite"), self.folder / "logs",
                               Journal(self.folder / "journal"))
        self.catalog = self.folder / "catalog.json"
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

    def latest(self, **options) -> LatestUpdate:
        """Update to latest from the bench's catalog; downloads and the catalog record stay in its folder."""
        return LatestUpdate(self.trust_store, catalog=str(self.catalog), downloads=self.folder / "downloads",
                            seen=SeenCatalogs(self.folder / "seen-catalogs"), **options)

    def _start(self) -> None:
        release, oem = keys.generate_key(), keys.generate_key()
        for key, name in ((release, "release"), (oem, "oem")):
            _, public = keys.write_key_pair(key, self.folder / "keys", name)
            self.trust_store.import_key(public)
        factory, update = self._images(FACTORY_BUILD, seed=10), self._images(UPDATE_BUILD, seed=20)
        # Compressing and hashing let go of the GIL: the updates are built while the factory line runs.
        with ThreadPoolExecutor(2) as pool:
            updates = [pool.submit(self._package, update, UPDATE_BUILD, 2, release, oem),
                       pool.submit(self._package, update, UPDATE_BUILD, 2, oem, oem, install="sideload")]
            self.factory_package = self._package(factory, FACTORY_BUILD, 1, release, oem)
            self._start_handsets(keys.public_pem(oem.public_key).decode())
            self.update_package, self.sideload_package = [job.result() for job in updates]
        build_catalog([self.factory_package, self.update_package, self.sideload_package], [release], self.catalog,
                      trust_store=self.trust_store)

    def _start_handsets(self, oem_public: str) -> None:
        """The handsets with the factory build, each at the address of its link."""
        link_of = [self.links[index % len(self.links)] for index in range(self.count)]
        if self.locked:
            link_of.append("usb")
        locked_serial = serial_for(len(link_of)) if self.locked else None

        def profile_for(serialno: str):
            return dataclasses.replace(default_profile(serialno), oem_public_key=oem_public,
                                       unlocked=serialno != locked_serial)
        self.emulator = Emulator(self.folder / "handsets", count=len(link_of), profile_for=profile_for,
                                 udp_base_port=0 if "udp" in link_of else None, serial="serial" in link_of)
        self.emulator.start()
        with Updater(self.factory_package, self.trust_store, self.station) as factory_line:
            factory_line.prepare()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda handset: handset.factory_flash(factory_line.images), self.emulator.handsets))
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

    def _images(self, build: str, *, seed: int) -> Path:
        images = self.folder / f"images-{build}"
        images.mkdir(parents=True)
        write_image(images / "boot.img", self.sizes["boot"], seed=seed, content_fraction=0.6)
        write_image(images / "system.img", self.sizes["system"], seed=seed + 1)
        return images

    def _package(self, images: Path, build: str, rollback_index: int, signer, oem, install: str = "fastboot") -> Path:
        """A release-signed package, or with `install` sideload the OEM-signed one recovery installs."""
        description = PackageDescription(hw_revisions=("10000",), build=build, rollback_index=rollback_index,
                                         product=PRODUCT, min_battery_mv=3600)
        output = self.folder / f"{PRODUCT}-{build}{'-ota' if install == 'sideload' else ''}.zip"
        build_package(images, description, [signer], output, oem_key=oem, install=install)
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
