"""`tsuf demo`: start virtual handsets and update each one's inactive slot.

The whole job end to end on the embedded default: write boot and system to
the inactive slot of every handset at once, verify, switch slots, reboot and
confirm each came back on the new slot.
"""

import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import FlasherError


def run_demo(args) -> int:
    from ..update.ab import update_ab
    from ..virtual.emulator import Emulator
    from ..virtual.sample_images import write_image

    workdir = Path(tempfile.mkdtemp(prefix="tsuf-demo-"))
    storage = Path(args.storage) if args.storage else workdir / "handsets"
    print_lock = threading.Lock()

    def say(serialno: str, text: str) -> None:
        with print_lock:
            print(f"{serialno}  {text}", file=sys.stderr, flush=True)

    try:
        images = {
            "boot": write_image(workdir / "boot.img", 16 << 20, seed=1, content_fraction=0.6),
            "system": write_image(workdir / "system.img", 96 << 20, seed=2),
        }
        with Emulator(storage, count=args.count) as emulator:
            print(f"started {args.count} virtual handset(s) in {storage}", file=sys.stderr)

            def update_one(index: int):
                handset, address = emulator.handsets[index], emulator.addresses[index]
                try:
                    return update_ab(address, images, on_state=lambda s: say(handset.serialno, s))
                except FlasherError as error:
                    say(handset.serialno, f"failed: {error}")
                    return error

            with ThreadPoolExecutor(max_workers=args.count) as pool:
                results = list(pool.map(update_one, range(args.count)))
            rows = [(h.serialno, a, r) for h, a, r in zip(emulator.handsets, emulator.addresses, results)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'handset':10} {'address':22} {'slots':7} {'booted':7} {'result':12} time")
    for serialno, address, result in rows:
        if isinstance(result, FlasherError):
            print(f"{serialno:10} {address:22} {'':7} {'':7} {'failed':12} {result}")
        else:
            print(f"{serialno:10} {address:22} {result.from_slot}->{result.to_slot:4} "
                  f"{result.booted_slot or '-':7} {result.outcome:12} {result.seconds:.1f} s")
    return 0 if all(not isinstance(r, FlasherError) and r.switched for _, _, r in rows) else 1
