"""`tsuf emulator`: virtual handsets on TCP (and UDP, serial ptys, recovery's ADB) until Ctrl-C (or SIGTERM)."""

import dataclasses
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path


def run_emulator(args) -> int:
    from ..virtual.emulator import Emulator
    from ..virtual.faults import Faults, apply_fault
    from ..virtual.handset import Mode
    from ..virtual.profile import default_profile, load_profile
    from ..virtual.usb_debugging import Debugging

    for spec in args.fault:
        apply_fault(Faults(), spec)  # a bad fault is refused before anything starts

    oem_key = None
    if args.oem_key:  # refused before anything starts when it is not a public key
        from ..package.keys import read_public_key
        read_public_key(Path(args.oem_key))
        oem_key = Path(args.oem_key).read_text()
    storage = Path(args.storage) if args.storage else Path(tempfile.mkdtemp(prefix="tsuf-handsets-"))
    template = load_profile(Path(args.profile)) if args.profile else None

    def profile_for(serialno: str):
        profile = dataclasses.replace(template, serialno=serialno) if template else default_profile(serialno)
        if oem_key:  # verified boot: the handset boots only builds this key signed, and reports them
            profile = dataclasses.replace(profile, oem_public_key=oem_key)
        # The factory lock state: a handset whose lock.json says otherwise keeps its own.
        return dataclasses.replace(profile, unlocked=False) if args.locked else profile
    mode = Mode(args.mode) if args.mode else None
    debugging = Debugging(args.adb_keys)
    # Otherwise nothing could reach recovery, or Android's adbd.
    adb = args.adb or mode in (Mode.RECOVERY, Mode.SIDELOAD) or debugging is not Debugging.OFF
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with Emulator(storage, count=args.count, host=args.host, base_port=args.tcp, udp_base_port=args.udp,
                      serial=args.serial, adb=adb, start_mode=mode, family=args.family,
                      profile_for=profile_for, usb_debugging=debugging) as emulator:
            for handset in emulator.handsets:
                for spec in args.fault:
                    apply_fault(handset.faults, spec)
            # One line per address, TCP first, so readers of the first `count` lines still get TCP.
            for addresses in (emulator.addresses, emulator.udp_addresses, emulator.serial_addresses,
                              emulator.adb_addresses):
                for handset, address in zip(emulator.handsets, addresses):
                    print(f"{handset.serialno}\t{address}\t{handset.root}", flush=True)
            if adb:  # its lines look like fastboot's: say which they are
                print("the last tcp: line of each handset is its ADB (recovery's, or Android's), on its fastboot port + 1 "
                      "(adb connect HOST:PORT)", file=sys.stderr, flush=True)
            print(f"{args.count} virtual handset(s) running; Ctrl-C stops them", file=sys.stderr, flush=True)
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
    finally:
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    return 0

