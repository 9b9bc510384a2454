"""Hot paths: sparse conversion, SHA-256 verification and delta apply, each against a reference tool.

What it measures, and why: before and after every flash a user waits for work
the host does alone: cutting an image into sparse pieces, hashing a package or
a partition read back, rebuilding an image from a delta package. Each is
measured beside the tool a user would otherwise reach for, doing the same work
on the same machine (targets: tsuf within 1.5x of its wall time, and tsuf's peak
RSS under 160 MiB: no path holds an image; delta apply holds four 8 MiB windows
at most, with their source ranges and patches):

- sparse: a firmware-like image (30 % content, the rest zero blocks; default
  1 GiB) converted whole into one sparse file, by `flasher.sparse.write_sparse`
  and by Debian's `img2simg` (the two files must be byte-identical). img2simg
  does not split, so splitting into max-download-size pieces (256 MiB, the
  virtual handset's) is its own row, set against the same img2simg time;
- SHA-256: `tsuf package verify` of a package holding that image stored (so it
  hashes the same bytes) against `sha256sum` of the package file, and the
  read-back verification of an update (`read_back_sha256` over TCP from a
  `tsuf emulator` handset the image was flashed to) against `sha256sum` of the
  image;
- delta apply: `reconstruct` of a windowed delta package (bench/delta.py's
  images and edits; default 64 MiB, since the whole-file patch needs ~17x the
  image in RAM to make) against Debian's `bspatch` with the whole-file patch.
  Both outputs must be the target image.

Every measured command is a fresh process under GNU `/usr/bin/time -v`, started
after a `sync` (tsuf's through bench/hot_steps.py, which loads no benchmark
code); after one warm-up round, rounds alternate which tool goes first, and the
tables give medians. Prints a markdown section (or JSON with --json); exits 0 if
the targets are met, 3 if one is missed, 1 or 2 on an error. The emulator and every temporary file are removed
on exit, error, Ctrl-C or SIGTERM.

    .venv/bin/python bench/hot_paths.py [--rounds 3] [--size-mib 1024] [--delta-mib 64] [--json]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from delta import PARTITION, make_builds, setup_keys
from flash_throughput import (GNU_TIME, TSUF, BenchError, measured, sha256_prefix, start_emulator, stop,
                              targets_markdown)

from flasher.virtual.sample_images import write_image

MiB = 1 << 20
TARGET_RATIO = 1.5
TARGET_RSS_MIB = 160
TARGET_MISSED = 3
SPLIT_LIMIT = 256 * MiB  # the virtual handset's max-download-size
TOOLS = {name: f"/usr/bin/{name}" for name in ("img2simg", "sha256sum", "bspatch")}
DELTA = str(Path(__file__).with_name("delta.py"))
STEPS = str(Path(__file__).with_name("hot_steps.py"))  # the tsuf side, one step per process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024, help="sparse and SHA-256 image size (default 1024)")
    parser.add_argument("--delta-mib", type=int, default=64, help="delta image size (default 64)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per command")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args()
    missing = [path for path in (GNU_TIME, *TOOLS.values()) if not os.access(path, os.X_OK)]
    if missing:
        raise BenchError(f"needs {', '.join(missing)} (Debian packages time, android-sdk-libsparse-utils, coreutils, bsdiff)")
    args.rss_method = "time"  # flash_throughput.measured reads it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="tsuf-bench-hot-"))
    try:
        setup_keys(work)
        image = write_image(work / "image.img", args.size_mib * MiB, seed=1, content_fraction=0.3)
        rows = [*sparse_rows(args, work, image), *sha256_rows(args, work, image), delta_row(args, work)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = summarise(args, rows)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0 if results["targets_met"] else TARGET_MISSED


def side_by_side(args, work: Path, reference: list[str], tsuf: list[str], before=None, check=None) -> dict:
    """A warm-up, then `rounds` runs of each command, alternating which goes first; `before(which)`
    runs untimed before each command, `check(which, stdout)` after it ("reference" or "tsuf")."""
    runs = {"reference": [], "tsuf": []}
    for index in range(-1, args.rounds):
        order = [("reference", reference), ("tsuf", tsuf)]
        for which, command in order if index % 2 else order[::-1]:
            if before:
                before(which)
            os.sync()  # no writeback of earlier steps' files slows this one's writes
            seconds, cpu, rss_kib, out, _err = measured(args, work, command)
            if check:
                check(which, out)
            if index >= 0:
                runs[which].append({"seconds": round(seconds, 3), "cpu_s": round(cpu, 2),
                                    "rss_mib": round(rss_kib / 1024, 1)})
    return runs


def sparse_rows(args, work: Path, image: Path) -> list[dict]:
    outputs = {"reference": work / "img2simg.simg", "tsuf": work / "tsuf.simg"}

    def clear(which):
        outputs[which].unlink(missing_ok=True)
    runs = side_by_side(args, work, [TOOLS["img2simg"], str(image), str(outputs["reference"])],
                        [sys.executable, STEPS, "sparse", str(image), str(outputs["tsuf"])],
                        before=clear)
    if sha256_prefix(outputs["tsuf"], 1 << 62) != sha256_prefix(outputs["reference"], 1 << 62):
        raise BenchError("write_sparse and img2simg made different sparse images")
    sparse_bytes = outputs["tsuf"].stat().st_size
    outputs["tsuf"].unlink()
    pieces = work / "pieces"

    def check_split(which, out):
        if which == "reference":
            return
        made = json.loads(out)
        sizes = [path.stat().st_size for path in pieces.iterdir()]
        if len(sizes) != made["pieces"] or max(sizes) > SPLIT_LIMIT:
            raise BenchError(f"split made {sizes}, not {made['pieces']} pieces of at most {SPLIT_LIMIT} bytes")
        shutil.rmtree(pieces)
    split = side_by_side(args, work, [TOOLS["img2simg"], str(image), str(outputs["reference"])],
                         [sys.executable, STEPS, "split", str(image), str(pieces), str(SPLIT_LIMIT)],
                         before=clear, check=check_split)
    mib = args.size_mib
    return [
        row("sparse", f"{mib} MiB raw image to one sparse file ({sparse_bytes // MiB} MiB, byte-identical)",
            "`img2simg`", "`write_sparse`", runs),
        row("sparse", f"the same, cut into sparse pieces of at most {SPLIT_LIMIT // MiB} MiB "
                      "(img2simg does not split: its whole conversion as the reference)",
            "`img2simg`", "`split`", split),
    ]


def sha256_rows(args, work: Path, image: Path) -> list[dict]:
    from flasher.package.build import PackageDescription, build_package
    from flasher.package.keys import load_private_key
    folder = work / "images"
    folder.mkdir()
    os.link(image, folder / f"{PARTITION}.img")
    package = work / "stored.zip"
    description = PackageDescription(product="BENCH", hw_revisions=("r1",), build="N1", rollback_index=1)
    build_package(folder, description, [load_private_key(work / "bench.pem")], package, compression="stored")
    shutil.rmtree(folder)
    verify = side_by_side(args, work, [TOOLS["sha256sum"], str(package)],
                          [TSUF, "package", "verify", "--trust-store", str(work / "trust"), str(package)])
    package.unlink()

    size = image.stat().st_size
    expected = sha256_prefix(image, size)

    def check(_which, out):
        if out.split()[0] != expected:
            raise BenchError(f"read-back or sha256sum gave {out.split()[0]}, not the image's {expected}")
    emulator, [(_serial, address, _folder)] = start_emulator(work, "--count", "1")
    try:
        subprocess.run([TSUF, "-s", address, "flash", "system_a", str(image)], check=True, capture_output=True,
                       timeout=args.timeout)
        readback = side_by_side(args, work, [TOOLS["sha256sum"], str(image)],
                                [sys.executable, STEPS, "readback", address, "system_a", str(size)], check=check)
    finally:
        stop(emulator)
        shutil.rmtree(work / "handsets", ignore_errors=True)
    mib = args.size_mib
    return [
        row("SHA-256", f"package verify: signature and image hash, {mib} MiB stored image",
            "`sha256sum` of the package", "`tsuf package verify`", verify),
        row("SHA-256", f"read-back verification of {mib} MiB over TCP (`tsuf emulator`)",
            "`sha256sum` of the image", "`read_back_sha256`", readback),
    ]


def delta_row(args, work: Path) -> dict:
    builds = make_builds(work / "delta", args.delta_mib * MiB, seed=1)
    for step in (["build", "2"], ["bsdiff"]):
        subprocess.run([sys.executable, DELTA, "--child", step[0], str(work), str(builds), *step[1:]], check=True,
                       capture_output=True, timeout=args.timeout)
    target = builds / "target" / f"{PARTITION}.img"
    expected = sha256_prefix(target, 1 << 62)
    output = work / "bspatch.img"

    def check(which, _out):
        made = [output] if which == "reference" else list(builds.glob(f"tsuf-{PARTITION}-*/{PARTITION}.img"))
        if len(made) != 1 or sha256_prefix(made[0], 1 << 62) != expected:
            raise BenchError(f"{which} did not make the target image")
        if which == "tsuf":
            shutil.rmtree(made[0].parent)
        else:
            made[0].unlink()
    runs = side_by_side(args, work, [TOOLS["bspatch"], str(builds / "source" / f"{PARTITION}.img"), str(output),
                                     str(builds / "whole.bsdiff")],
                        [sys.executable, STEPS, "apply", str(builds / "delta.zip"), str(work / "trust"), PARTITION,
                         str(builds / "source" / f"{PARTITION}.img"), str(builds)], check=check)
    patch_kib = (builds / "whole.bsdiff").stat().st_size // 1024
    shutil.rmtree(builds)
    return row("delta apply", f"{args.delta_mib} MiB image from a windowed delta package (bspatch: the "
                              f"whole-file patch, {patch_kib} KiB)", "`bspatch`", "`reconstruct`", runs)


def row(path: str, work: str, reference: str, tsuf: str, runs: dict) -> dict:
    median = {which: statistics.median(r["seconds"] for r in rs) for which, rs in runs.items()}
    return {"path": path, "work": work, "reference": reference, "tsuf": tsuf,
            "reference_median_s": median["reference"], "tsuf_median_s": median["tsuf"],
            "ratio": round(median["tsuf"] / median["reference"], 2),
            "tsuf_peak_rss_mib": max(r["rss_mib"] for r in runs["tsuf"]),
            "reference_peak_rss_mib": max(r["rss_mib"] for r in runs["reference"]), "rounds": runs}


def summarise(args, rows: list[dict]) -> dict:
    worst = max(rows, key=lambda r: r["ratio"])
    rss = max(r["tsuf_peak_rss_mib"] for r in rows)
    targets = [
        {"target": f"every tsuf/reference median time ratio <= {TARGET_RATIO}",
         "value": f"{worst['ratio']} ({worst['tsuf']})", "met": worst["ratio"] <= TARGET_RATIO},
        {"target": f"tsuf peak RSS < {TARGET_RSS_MIB} MiB", "value": rss, "met": rss < TARGET_RSS_MIB},
    ]
    return {"benchmark": "hot_paths", "rounds": args.rounds, "image_mib": args.size_mib,
            "delta_mib": args.delta_mib, "cpus": os.cpu_count(), "rows": rows, "targets": targets,
            "targets_met": all(t["met"] for t in targets)}


def markdown(r: dict) -> str:
    lines = [
        "## Hot paths: sparse, SHA-256, delta apply against the reference tools",
        "",
        f"Each tsuf path beside the tool doing the same work, {r['rounds']} rounds after a warm-up, alternating "
        f"which goes first, every command a fresh process under GNU time after a sync ({r['cpus']} CPUs). "
        f"Images: firmware-like (30% content, the rest zero blocks), {r['image_mib']} MiB; the delta's is "
        f"{r['delta_mib']} MiB with 2% of bytes in 8-byte edits and 8 insertions of 50 KiB (as bench/delta.py). "
        "Outputs are checked: the sparse files byte-identical, hashes equal to the image's, both delta outputs "
        "the target.",
        "",
        "| path | work | reference | reference median (s) | tsuf | tsuf median (s) | tsuf/reference "
        "| tsuf peak RSS (MiB) | reference peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for w in r["rows"]:
        lines.append(f"| {w['path']} | {w['work']} | {w['reference']} | {w['reference_median_s']:.2f} "
                     f"| {w['tsuf']} | {w['tsuf_median_s']:.2f} | **{w['ratio']:.2f}** "
                     f"| {w['tsuf_peak_rss_mib']:.1f} | {w['reference_peak_rss_mib']:.1f} |")
    lines += ["", "Every round (seconds, reference / tsuf):", ""]
    for w in r["rows"]:
        pairs = ", ".join(f"{a['seconds']:.2f} / {b['seconds']:.2f}"
                          for a, b in zip(w["rounds"]["reference"], w["rounds"]["tsuf"]))
        lines.append(f"- {w['path']}, {w['tsuf']}: {pairs}")
    return "\n".join(lines + targets_markdown(r["targets"])) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"hot_paths: {error}", file=sys.stderr)
        sys.exit(2)
