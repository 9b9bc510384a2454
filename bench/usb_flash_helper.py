"""Helper for bench/flash_links.py: one `flash` over the emulated USB bus, timed in-process.

The virtual USB bus exists only inside the process that creates it, so this
script plays both parts: it builds a virtual handset on folder DIR (default
profile, serial SERIAL), plugs it into a VirtualUsbBus, routes `usb:`
addresses through that bus, erases PARTITION (untimed), then times what
`tsuf -s usb:SERIAL flash PARTITION IMAGE` does after start-up: open the
device, resolve the partition, flash, close. Prints one JSON line:
{"seconds": ..., "pieces": ..., "address": ...}. The caller checks the
partition file (DIR/<partition>.img) against the image.

    python bench/usb_flash_helper.py DIR SERIAL PARTITION IMAGE
"""

import json
import sys
import time
from pathlib import Path

from flasher.fastboot import FastbootDevice
from flasher.transport import usb
from flasher.virtual.handset import Handset
from flasher.virtual.profile import default_profile
from flasher.virtual.usb_backend import VirtualUsbBus


def main(folder: str, serial: str, partition: str, image: str) -> int:
    handset = Handset(default_profile(serial), Path(folder))
    bus = VirtualUsbBus()
    try:
        bus.attach(handset)
        usb.use_backend(bus)
        address = f"usb:{serial}"
        with FastbootDevice.open(address) as device:
            device.erase(partition)
        started = time.perf_counter()
        with FastbootDevice.open(address) as device:
            target = device.resolve_partition(partition, None)
            pieces = device.flash(target, Path(image))
        seconds = time.perf_counter() - started
    finally:
        usb.use_backend(None)
        bus.close()
        handset.shutdown()
    print(json.dumps({"seconds": round(seconds, 3), "pieces": pieces, "address": address}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
