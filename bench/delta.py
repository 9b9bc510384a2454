"""Delta packages: size against whole-file bsdiff and deflate, build time by workers, memory by image size.

What it measures, and why: a delta is worth shipping only if it is nearly as small
as a single whole-file bsdiff (target: windowed delta within 10 % of it) while its
memory stays bounded, since whole-file bsdiff needs ~17x the image in RAM. So:

- a firmware-like image (half random content, half zero blocks) and a target with
  ~2 % of its bytes changed in scattered 8-byte edits plus eight 50 KiB insertions;
- sizes: the delta package, one whole-file `bsdiff4.file_diff`, and the target
  deflated (zlib level 6, as a full package carries it);
- build time of the delta with 1 worker and with every core;
- peak RSS of building (every core) and of applying (`reconstruct`) at two image
  sizes, to show it does not grow with the image.

Every measured step is a fresh subprocess under GNU `/usr/bin/time -v` (its peak
RSS is that process's alone). Prints a markdown section (or JSON with --json);
exits 0 if the targets are met, 3 if one is missed, 1 or 2 on an error. Temporary
files are removed on exit, error, Ctrl-C or SIGTERM.

    .venv/bin/python bench/delta.py [--size 64] [--rss-sizes 128,512] [--json]
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from flash_throughput import targets_markdown

from flasher.virtual.sample_images import write_image

MiB = 1 << 20
TARGET_SIZE_RATIO = 1.10  # windowed delta / whole-file bsdiff
TARGET_RSS_GROWTH = 1.25  # peak RSS at the larger size / at the smaller
TARGET_MISSED = 3
GNU_TIME = "/usr/bin/time"
EDIT_FRACTION = 0.02
INSERTIONS = 8
INSERTION_SIZE = 50 * 1024
PARTITION = "system"


class BenchError(RuntimeError):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64, metavar="MiB",
                        help="image size for the size and time comparison (default 64; whole-file bsdiff "
                             "needs ~17x this in RAM)")
    parser.add_argument("--rss-sizes", default="128,512", metavar="MiB,MiB",
                        help="the two image sizes whose peak RSS is compared (default 128,512)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per step")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if not os.access(GNU_TIME, os.X_OK):
        raise BenchError(f"{GNU_TIME} is needed for peak RSS (Debian package `time`)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="tsuf-bench-delta-"))
    try:
        results = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0 if results["targets_met"] else TARGET_MISSED


def run(args, work: Path) -> dict:
    setup_keys(work)
    compare = make_builds(work / "compare", args.size * MiB, seed=1)
    delta = {workers: measured(args, work, "build", compare, workers) for workers in (1, os.cpu_count() or 1)}
    whole = measured(args, work, "bsdiff", compare)
    deflated = deflated_size(compare / "target" / f"{PARTITION}.img")
    shutil.rmtree(compare)
    delta_bytes = delta[1]["package_bytes"]
    scaling = []
    for size in (int(s) for s in args.rss_sizes.split(",")):
        builds = make_builds(work / f"rss-{size}", size * MiB, seed=2)
        build = measured(args, work, "build", builds, os.cpu_count() or 1)
        apply = measured(args, work, "apply", builds)
        scaling.append({"image_mib": size, "build_rss_mib": build["rss_mib"], "build_s": build["seconds"],
                        "apply_rss_mib": apply["rss_mib"], "apply_s": apply["seconds"],
                        "delta_bytes": build["package_bytes"]})
        shutil.rmtree(builds)
    size_ratio = round(delta_bytes / whole["patch_bytes"], 3)
    build_growth = round(scaling[-1]["build_rss_mib"] / scaling[0]["build_rss_mib"], 3)
    apply_growth = round(scaling[-1]["apply_rss_mib"] / scaling[0]["apply_rss_mib"], 3)
    targets = [
        {"target": f"delta / whole-file bsdiff <= {TARGET_SIZE_RATIO}", "value": size_ratio,
         "met": size_ratio <= TARGET_SIZE_RATIO},
        {"target": f"build peak RSS at {scaling[-1]['image_mib']} / {scaling[0]['image_mib']} MiB "
                   f"<= {TARGET_RSS_GROWTH}", "value": build_growth, "met": build_growth <= TARGET_RSS_GROWTH},
        {"target": f"apply peak RSS at {scaling[-1]['image_mib']} / {scaling[0]['image_mib']} MiB "
                   f"<= {TARGET_RSS_GROWTH}", "value": apply_growth, "met": apply_growth <= TARGET_RSS_GROWTH},
    ]
    return {
        "benchmark": "delta", "image_bytes": args.size * MiB, "cpus": os.cpu_count(),
        "edits": f"{EDIT_FRACTION:.0%} of bytes in 8-byte edits, {INSERTIONS} insertions of {INSERTION_SIZE} bytes",
        "sizes": {"delta_package": delta_bytes, "whole_file_bsdiff": whole["patch_bytes"],
                  "deflated_image": deflated},
        "build": {str(workers): {"seconds": r["seconds"], "rss_mib": r["rss_mib"]} for workers, r in delta.items()},
        "whole_file_bsdiff": {"seconds": whole["seconds"], "rss_mib": whole["rss_mib"]},
        "scaling": scaling, "targets": targets, "targets_met": all(t["met"] for t in targets),
    }


def setup_keys(work: Path) -> None:
    from flasher.package.keys import generate_key, write_key_pair
    from flasher.package.trust import TrustStore
    _, public = write_key_pair(generate_key(), work, "bench")
    TrustStore(work / "trust").import_key(public)


def make_builds(folder: Path, size: int, seed: int) -> Path:
    """source/system.img and target/system.img: the target is the source with scattered edits and insertions."""
    for side in ("source", "target"):
        (folder / side).mkdir(parents=True)
    source, target = folder / "source" / f"{PARTITION}.img", folder / "target" / f"{PARTITION}.img"
    write_image(source, size, seed=seed, content_fraction=0.5)
    # Not Random(seed): that would replay write_image's stream, and the "new" bytes would be in the source.
    rng = random.Random(f"edits-{seed}")
    insert_at = {rng.randrange(size // MiB) for _ in range(INSERTIONS)}
    with open(source, "rb") as old, open(target, "wb") as new:
        for index in range(size // MiB):
            chunk = bytearray(old.read(MiB))
            for _ in range(int(MiB * EDIT_FRACTION / 8)):
                at = rng.randrange(MiB - 8)
                chunk[at:at + 8] = rng.randbytes(8)
            if index in insert_at:
                at = rng.randrange(MiB)
                chunk[at:at] = rng.randbytes(INSERTION_SIZE)
            new.write(chunk)
    return folder


def deflated_size(path: Path) -> int:
    deflate, size = zlib.compressobj(6), 0
    with open(path, "rb") as image:
        while chunk := image.read(MiB):
            size += len(deflate.compress(chunk))
    return size + len(deflate.flush())


def measured(args, work: Path, step: str, builds: Path, *extra) -> dict:
    """Run one step in a fresh process under GNU time; its JSON result plus seconds and peak RSS."""
    report = work / "time.txt"
    command = [GNU_TIME, "-v", "-o", str(report), sys.executable, __file__, "--child", step, str(work),
               str(builds), *map(str, extra)]
    started = time.perf_counter()
    done = subprocess.run(["timeout", "-k", "5", str(args.timeout), *command], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"step {step} exited {done.returncode}: {done.stderr[-2000:]}")
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report.read_text()).group(1))
    return {**json.loads(done.stdout), "seconds": round(seconds, 2), "rss_mib": round(rss_kib / 1024, 1)}


def child(step: str, work: str, builds: str, *extra: str) -> int:
    """One measured step, run in its own process; prints its result as JSON."""
    work, builds = Path(work), Path(builds)
    package = builds / "delta.zip"
    if step == "build":
        from flasher.delta.build import build_delta_package
        from flasher.package.build import PackageDescription
        from flasher.package.keys import load_private_key
        description = PackageDescription(product="BENCH", hw_revisions=("r1",), build="N1", rollback_index=1)
        result = build_delta_package(builds / "source", builds / "target", [load_private_key(work / "bench.pem")],
                                     package, description=description, source_build="N", workers=int(extra[0]))
        print(json.dumps({"package_bytes": result.package_bytes, "methods": result.methods}))
    elif step == "apply":
        from flasher.delta.apply import reconstruct
        from flasher.package.archive import PackageReader
        from flasher.package.trust import TrustStore
        with PackageReader(package, TrustStore(work / "trust")) as reader:
            made = reconstruct(reader, PARTITION, builds / "source" / f"{PARTITION}.img", builds)
        print(json.dumps({"target_bytes": made.stat().st_size}))
    elif step == "bsdiff":
        import bsdiff4
        patch = builds / "whole.bsdiff"
        bsdiff4.file_diff(str(builds / "source" / f"{PARTITION}.img"), str(builds / "target" / f"{PARTITION}.img"),
                          str(patch))
        print(json.dumps({"patch_bytes": patch.stat().st_size}))
    return 0


def markdown(r: dict) -> str:
    mib = r["image_bytes"] // MiB
    sizes = r["sizes"]
    lines = [
        "## Delta packages: size, build time, memory",
        "",
        f"A {mib} MiB firmware-like image (half random content, half zero blocks); the target has {r['edits']}. "
        f"Each step is a fresh process under GNU time; {r['cpus']} CPUs.",
        "",
        "| what | bytes | % of the image |",
        "|---|---|---|",
    ]
    for name, key in (("delta package (windowed BSDIFF40)", "delta_package"),
                      ("whole-file bsdiff4 patch", "whole_file_bsdiff"), ("target deflated (full package)",
                                                                          "deflated_image")):
        lines.append(f"| {name} | {sizes[key]} | {100 * sizes[key] / r['image_bytes']:.2f} % |")
    lines += ["", "| build | seconds | peak RSS (MiB) |", "|---|---|---|"]
    for workers, b in r["build"].items():
        lines.append(f"| delta, {workers} worker{'s' if workers != '1' else ''} | {b['seconds']:.1f} "
                     f"| {b['rss_mib']:.0f} |")
    w = r["whole_file_bsdiff"]
    lines.append(f"| whole-file bsdiff4 | {w['seconds']:.1f} | {w['rss_mib']:.0f} |")
    lines += ["", "| image (MiB) | build s (all cores) | build peak RSS (MiB) | apply s | apply peak RSS (MiB) |",
              "|---|---|---|---|---|"]
    for s in r["scaling"]:
        lines.append(f"| {s['image_mib']} | {s['build_s']:.1f} | {s['build_rss_mib']:.0f} | {s['apply_s']:.1f} "
                     f"| {s['apply_rss_mib']:.0f} |")
    return "\n".join(lines + targets_markdown(r["targets"])) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"delta: {error}", file=sys.stderr)
        sys.exit(2)
