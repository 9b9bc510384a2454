"""`tsuf demo`: the whole job on virtual handsets, from a freshly signed package.

It makes a release key and an OEM key, builds two signed packages (the
factory build B120 and the update B130), starts virtual handsets that trust
the OEM key and carry B120 on slot a, then updates them all at once with
B130: verify, write slot b, check, switch, reboot, confirm.
"""

import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path


def run_demo(args) -> int:
    from ..history.store import HistoryStore
    from ..package import keys
    from ..package.build import PackageDescription, build_package
    from ..package.trust import TrustStore
    from ..update.journal import Journal
    from ..update.session import Station
    from ..update.updater import Updater
    from ..virtual.emulator import Emulator
    from ..virtual.profile import default_profile
    from ..virtual.sample_images import write_image
    from .update_view import SUCCESSFUL, DeviceBoard, print_summary

    workdir = Path(tempfile.mkdtemp(prefix="tsuf-demo-"))
    home = Path(args.storage) if args.storage else workdir
    try:
        release_key, oem_key = keys.generate_key(), keys.generate_key()
        _, release_public = keys.write_key_pair(release_key, workdir / "keys", "release")
        trust = TrustStore(workdir / "trust")
        trust.import_key(release_public)

        def package(build: str, rollback_index: int, seed: int) -> Path:
            images = workdir / f"images-{build}"
            images.mkdir()
            write_image(images / "boot.img", 16 << 20, seed=seed, content_fraction=0.6)
            write_image(images / "system.img", 96 << 20, seed=seed + 1)
            description = PackageDescription(hw_revisions=("10000",), build=build, rollback_index=rollback_index,
                                             product="tsuf_zte_ab", min_battery_mv=3600)
            output = workdir / f"tsuf_zte_ab-{build}.zip"
            build_package(images, description, [release_key], output, oem_key=oem_key)
            return output

        print("building signed packages B120 (factory) and B130 (update)", file=sys.stderr)
        factory, update = package("B120", 1, seed=10), package("B130", 2, seed=20)
        station = Station("demo", HistoryStore(home / "history.sqlite"), home / "logs", Journal(home / "journal"))
        oem_public = keys.public_pem(oem_key.public_key).decode()

        def profile_for(serialno: str):
            return dataclasses.replace(default_profile(serialno), oem_public_key=oem_public)

        with Emulator(home / "handsets", count=args.count, profile_for=profile_for) as emulator:
            with Updater(factory, trust, station) as line:
                line.prepare()
                for handset in emulator.handsets:
                    handset.factory_flash(line.images)
            print(f"{args.count} virtual handset(s) running B120 on slot a: "
                  f"{', '.join(emulator.addresses)}", file=sys.stderr)
            with Updater(update, trust, station) as updater:
                reports = updater.update(emulator.addresses, emit=DeviceBoard().handle)
        print_summary(reports, as_json=False)
        if args.storage:
            print(f"history and logs: {home}", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(report.result in SUCCESSFUL for report in reports) else 1
