"""A station and one locked virtual handset running a factory build, for the sideload path's tests."""

from flasher.discovery.waiting import wait_for_fastboot
from flasher.package import keys
from flasher.update.events import StateChanged
from flasher.update.session import Options
from flasher.update.updater import Updater
from flasher.virtual.usb_debugging import Debugging
from tests.support.handsets import RunningHandset, UsbHandsets, small_profile
from tests.support.packages import make_keys, make_ota_package, make_package
from tests.support.stations import bench_station

WAIT = 10.0


def station_keys(folder):
    """Release and OEM keys; the station trusts both, so it checks OEM packages before sending them."""
    keyring = make_keys(folder)
    _, oem_public = keys.write_key_pair(keyring.oem, folder / "keys", "oem")
    keyring.trust_store.import_key(oem_public)
    return keyring


class LockedBench:
    """A station that trusts the release and OEM keys, and one locked handset running B120;
    `changes` go into its profile, `usb_debugging` is its setting in Android (phone families)."""

    def __init__(self, tmp_path, link: str, usb_debugging: Debugging = Debugging.OFF, **changes):
        self.tmp_path = tmp_path
        self.keys = station_keys(tmp_path)
        self.station = bench_station(tmp_path)
        locked = {"unlocked": False, "oem_public_key": self.keys.oem_public_pem, **changes}
        if link == "usb":
            self.running = UsbHandsets(tmp_path / "usb", usb_debugging=usb_debugging, **locked)
            self.handset, self.address = self.running.handset, self.running.address
        else:
            self.running = RunningHandset(tmp_path / "handset", small_profile(**locked), adb=True,
                                          usb_debugging=usb_debugging)
            self.handset, self.address = self.running.handset, self.running.address
        with Updater(make_package(tmp_path, self.keys, build="B120", rollback_index=1), self.keys.trust_store,
                     self.station) as factory:
            factory.prepare()
            assert self.handset.factory_flash(factory.images) is not None  # B120 boots
        self.events = []

    def update(self, package, **options) -> object:
        with Updater(package, self.keys.trust_store, self.station) as updater:
            self.events = []
            return updater.update([self.address], options=Options(return_timeout=WAIT, **options),
                                  emit=self.events.append)[0]

    def ota(self, **kwargs):
        return make_ota_package(self.tmp_path, self.keys, **kwargs)

    def var(self, name: str) -> str | None:
        with wait_for_fastboot(self.address, timeout=WAIT) as device:
            return device.getvar_optional(name)

    def states(self) -> list[str]:
        return [event.state for event in self.events if isinstance(event, StateChanged)]

    def stop(self) -> None:
        self.running.stop()
