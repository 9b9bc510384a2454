"""Delta packages on two consecutive real releases: size, build time and memory, apply time, beside the baselines.

The pair is bench/realistic_images.py's `release_pair`: system.img is ext4 holding the
real wheels of one release of numpy, pandas and botocore (the next patch release in
the new build), boot.img numpy's core native library from the same two releases.
Measured side by side in one run, every step a fresh process under GNU
`/usr/bin/time -v`:

- the delta package (every core, and one worker): bytes per image, build wall and CPU
  time, peak RSS of the builder and of its largest worker process (the builder's plus
  one per worker bounds what the build holds);
- naive windows, as TSUF built deltas before block operations: each 8 MiB window of
  the new system image bsdiffed against the same range of the old one widened by an
  eighth each side (windows identical to it cost nothing), on every core;
- whole-file bsdiff4 of boot.img (system.img's would need ~17x the image in RAM: not run);
- `xz -6` of the new system image: bytes and wall time;
- apply: `reconstruct_all` from the old images against extracting every image from the
  full package of the new build, the host's share of a full update (flashing then
  sends the same bytes either way);
- the same pair at twice the image size (more free space): build peak RSS must not grow.

Prints a markdown section (or JSON with --json); exits 0 if the targets are met, 3 if
one is missed, 1 or 2 on an error. Wheels are downloaded once into the bench cache
($TSUF_BENCH_CACHE, default ~/.cache/tsuf-bench); temporary files are removed on exit,
error, Ctrl-C or SIGTERM. bench/hot_paths.py uses `make_builds` (synthetic firmware-like
images) and the `build`, `bsdiff` steps.

    .venv/bin/python bench/delta.py [--size 256] [--json]
"""

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flash_throughput import targets_markdown
from realistic_images import RELEASES, release_pair

from flasher.virtual.sample_images import write_image

MiB = 1 << 20
TARGET_SYSTEM_PERCENT = 0.9  # delta of system.img, % of the image
TARGET_BOOT_RATIO = 1.10  # delta of boot.img / whole-file bsdiff4
TARGET_RSS_MIB = 1536
TARGET_RSS_GROWTH = 1.25  # build peak RSS at twice the size / at the size
TARGET_APPLY_RATIO = 1.0  # reconstruct / extract from the full package
TARGET_MISSED = 3
GNU_TIME = "/usr/bin/time"
NAIVE_WINDOW = 8 * MiB
PARTITION = "system"
EDIT_FRACTION = 0.02
INSERTIONS = 8
INSERTION_SIZE = 50 * 1024


class BenchError(RuntimeError):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, metavar="MiB", help="system.img size (default 256)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per step")
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
    workers = os.cpu_count() or 1
    builds = work / "pair"
    release_pair(builds, args.size)
    system = (builds / "target" / "system.img").stat().st_size
    boot = (builds / "target" / "boot.img").stat().st_size
    one_worker = measured(args, work, "build", builds, 1)
    delta = measured(args, work, "build", builds, workers)
    naive = measured(args, work, "naive", builds, workers)
    whole_boot = measured(args, work, "bsdiff", builds, "boot")
    xz = measured(args, work, "xz", builds)
    measured(args, work, "full", builds)
    extract = measured(args, work, "extract", builds)
    apply = measured(args, work, "apply", builds)
    shutil.rmtree(builds)
    larger = work / "larger"
    release_pair(larger, 2 * args.size)
    delta_larger = measured(args, work, "build", larger, workers)
    shutil.rmtree(larger)

    system_percent = round(100 * delta["patch_bytes"]["system"] / system, 3)
    boot_ratio = round(delta["patch_bytes"]["boot"] / whole_boot["patch_bytes"], 3)
    rss, rss_larger = build_rss(delta, workers), build_rss(delta_larger, workers)
    growth = round(rss_larger / rss, 3)
    apply_ratio = round(apply["seconds"] / extract["seconds"], 3)
    targets = [
        {"target": f"system delta <= {TARGET_SYSTEM_PERCENT} % of the image (stretch 0.6 %)",
         "value": f"{system_percent} %", "met": system_percent <= TARGET_SYSTEM_PERCENT},
        {"target": "build wall time < `xz -6` of the new system image",
         "value": f"{delta['seconds']} s / {xz['seconds']} s", "met": delta["seconds"] < xz["seconds"]},
        {"target": f"build peak RSS (builder + workers) <= {TARGET_RSS_MIB} MiB", "value": round(rss),
         "met": rss <= TARGET_RSS_MIB},
        {"target": f"build peak RSS at {2 * args.size} / {args.size} MiB <= {TARGET_RSS_GROWTH}", "value": growth,
         "met": growth <= TARGET_RSS_GROWTH},
        {"target": f"boot delta / whole-file bsdiff4 <= {TARGET_BOOT_RATIO}", "value": boot_ratio,
         "met": boot_ratio <= TARGET_BOOT_RATIO},
        {"target": f"apply / extract from the full package <= {TARGET_APPLY_RATIO}", "value": apply_ratio,
         "met": apply_ratio <= TARGET_APPLY_RATIO},
    ]
    return {
        "benchmark": "delta", "command": " ".join([".venv/bin/python", "bench/delta.py", *sys.argv[1:]]),
        "releases": [f"{name} {old} -> {new}" for name, old, new in RELEASES],
        "system_bytes": system, "boot_bytes": boot, "cpus": workers, "load": os.getloadavg(),
        "delta": delta, "delta_one_worker": one_worker, "naive_windows": naive, "whole_file_bsdiff_boot": whole_boot, "xz": xz,
        "full_extract": extract, "apply": apply, "delta_at_twice_the_size": delta_larger,
        "build_rss_mib": round(rss), "build_rss_mib_at_twice_the_size": round(rss_larger),
        "targets": targets, "targets_met": all(t["met"] for t in targets),
    }


def build_rss(build: dict, workers: int) -> float:
    """What the build held at most: the builder's peak plus `workers` times the largest worker's."""
    return build["builder_rss_mib"] + workers * build["worker_rss_mib"]


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
    text = report.read_text()
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", text).group(1)) for kind in ("User", "System"))
    return {**json.loads(done.stdout), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 1),
            "rss_mib": round(rss_kib / 1024, 1)}


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
        patch_bytes = {entry.partition: entry.archive_size if entry.delta.method != "copy" else 0
                       for entry in result.manifest.images}
        print(json.dumps({"package_bytes": result.package_bytes, "methods": result.methods,
                          "patch_bytes": patch_bytes, "builder_rss_mib": rss_mib(resource.RUSAGE_SELF),
                          "worker_rss_mib": rss_mib(resource.RUSAGE_CHILDREN)}))
    elif step == "naive":
        print(json.dumps(naive_windows(builds / "source" / f"{PARTITION}.img", builds / "target" / f"{PARTITION}.img",
                                       int(extra[0]))))
    elif step == "apply":
        from flasher.delta.apply import reconstruct_all
        from flasher.package.archive import PackageReader
        from flasher.package.trust import TrustStore
        with PackageReader(package, TrustStore(work / "trust")) as reader:
            made = reconstruct_all(reader, lambda entry: builds / "source" / f"{entry.partition}.img", builds)
        print(json.dumps({"target_bytes": sum(path.stat().st_size for path in made.values())}))
    elif step == "full":
        from flasher.package.build import PackageDescription, build_package
        from flasher.package.keys import load_private_key
        description = PackageDescription(product="BENCH", hw_revisions=("r1",), build="N1", rollback_index=1)
        build_package(builds / "target", description, [load_private_key(work / "bench.pem")], builds / "full.zip")
        print(json.dumps({"package_bytes": (builds / "full.zip").stat().st_size}))
    elif step == "extract":
        from flasher.package.archive import PackageReader
        from flasher.package.trust import TrustStore
        with PackageReader(builds / "full.zip", TrustStore(work / "trust")) as reader:
            made = reader.extract_all_verified(builds)
        print(json.dumps({"target_bytes": sum(path.stat().st_size for path in made.values())}))
    elif step == "xz":
        with open(builds / "target" / f"{PARTITION}.img", "rb") as image:
            compressed = subprocess.run(["xz", "-6", "-c"], stdin=image, capture_output=True, check=True).stdout
        print(json.dumps({"xz_bytes": len(compressed)}))
    elif step == "bsdiff":
        import bsdiff4
        partition = extra[0] if extra else PARTITION
        patch = builds / "whole.bsdiff"
        bsdiff4.file_diff(str(builds / "source" / f"{partition}.img"), str(builds / "target" / f"{partition}.img"),
                          str(patch))
        print(json.dumps({"patch_bytes": patch.stat().st_size}))
    return 0


def rss_mib(who: int) -> float:
    """Peak RSS of this process, or of the largest of its ended children (GNU time reports the larger of both)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def naive_windows(source_path: Path, target_path: Path, workers: int) -> dict:
    """Bytes of one bsdiff patch per 8 MiB window against the same source range widened by an eighth."""
    from concurrent.futures import ProcessPoolExecutor

    from flasher.delta.bsdiff import make_patch
    source, target = source_path.read_bytes(), target_path.read_bytes()
    margin = NAIVE_WINDOW // 8
    jobs = []
    with ProcessPoolExecutor(workers) as pool:
        for offset in range(0, len(target), NAIVE_WINDOW):
            new = target[offset:offset + NAIVE_WINDOW]
            if new == source[offset:offset + len(new)]:
                continue
            start, end = max(0, offset - margin), min(len(source), offset + len(new) + margin)
            jobs.append(pool.submit(make_patch, source[start:end], new))
        sizes = [len(job.result()) for job in jobs]
    return {"patch_bytes": sum(sizes), "windows_diffed": len(sizes)}


def markdown(r: dict) -> str:
    system, boot = r["system_bytes"], r["boot_bytes"]
    delta, naive, xz = r["delta"], r["naive_windows"], r["xz"]
    larger, apply, extract = r["delta_at_twice_the_size"], r["apply"], r["full_extract"]

    def percent(part: int, whole: int) -> str:
        return f"{100 * part / whole:.3f} %"
    load = " ".join(f"{value:.2f}" for value in r["load"])
    lines = [
        "## Delta packages: two consecutive real releases",
        "",
        f"`{r['command']}`: system.img is {system // MiB} MiB of ext4 holding the wheels of "
        f"{', '.join(r['releases'])}; boot.img is numpy's core native library of the same two releases "
        f"({boot} bytes). Each step a fresh process under GNU time, side by side in one run; {r['cpus']} CPUs, "
        f"load average {load} at the end (other work on the machine skews wall times).",
        "",
        "| what | system.img bytes | % of the image | boot.img bytes | seconds (wall) | CPU seconds |",
        "|---|---|---|---|---|---|",
        f"| tsuf delta (block operations + bsdiff of the residue, {r['cpus']} workers) | "
        f"{delta['patch_bytes']['system']} | {percent(delta['patch_bytes']['system'], system)} | "
        f"{delta['patch_bytes']['boot']} | {delta['seconds']:.1f} (both images, signed package) | "
        f"{delta['cpu_seconds']:.0f} |",
        f"| naive 8 MiB windows, bsdiff each ({naive['windows_diffed']} windows differ, {r['cpus']} workers) | "
        f"{naive['patch_bytes']} | {percent(naive['patch_bytes'], system)} | | {naive['seconds']:.1f} | "
        f"{naive['cpu_seconds']:.0f} |",
        f"| whole-file bsdiff4 | not run (~17x the image in RAM) | | {r['whole_file_bsdiff_boot']['patch_bytes']} | "
        f"{r['whole_file_bsdiff_boot']['seconds']:.1f} (boot only) | {r['whole_file_bsdiff_boot']['cpu_seconds']:.0f} |",
        f"| `xz -6` of the new image | {xz['xz_bytes']} | {percent(xz['xz_bytes'], system)} | | {xz['seconds']:.1f} "
        f"| {xz['cpu_seconds']:.0f} |",
        "",
        "| step | seconds (wall) | CPU seconds | peak RSS (MiB) |",
        "|---|---|---|---|",
        f"| build, {system // MiB} MiB system | {delta['seconds']:.1f} | {delta['cpu_seconds']:.0f} | {r['build_rss_mib']} "
        f"(builder {delta['builder_rss_mib']:.0f} + {r['cpus']} x largest worker {delta['worker_rss_mib']:.0f}) |",
        f"| build, {system // MiB} MiB system, 1 worker | {r['delta_one_worker']['seconds']:.1f} | "
        f"{r['delta_one_worker']['cpu_seconds']:.0f} | {build_rss(r['delta_one_worker'], 1):.0f} |",
        f"| build, {2 * system // MiB} MiB system (same files) | {larger['seconds']:.1f} | {larger['cpu_seconds']:.0f} | "
        f"{r['build_rss_mib_at_twice_the_size']} |",
        f"| apply: `reconstruct_all` from the old images | {apply['seconds']:.2f} | {apply['cpu_seconds']:.1f} "
        f"| {apply['rss_mib']:.0f} |",
        f"| full update's host share: extract every image from the full package | {extract['seconds']:.2f} | "
        f"{extract['cpu_seconds']:.1f} | {extract['rss_mib']:.0f} |",
    ]
    return "\n".join(lines + targets_markdown(r["targets"])) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"delta: {error}", file=sys.stderr)
        sys.exit(2)
