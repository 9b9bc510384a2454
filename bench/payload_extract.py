"""Extracting one partition from a ~2 GiB OTA payload: tsuf against the least an extraction must do.

The payload is made of real software: bench/realistic_images.py's ext4 system image
(installed files packed with mke2fs), as REPLACE_XZ operations of 2 MiB (update_engine's
chunk) with ZERO for free blocks, then the same image as REPLACE partitions (product,
vendor, ...: data a build could not compress) until the payload reaches --size. It is
signed with a test RSA key (tests/payload/generator.py) inside an OTA zip, payload.bin
stored. Two commands then extract system from that zip, each as its own process under
GNU `/usr/bin/time -v`, alternating which goes first each round:

- tsuf: `tsuf payload extract OTA system` verifies the whole payload (properties, both
  hashes, both signatures), checks each operation's data hash, applies system's
  operations and checks the image's hash;
- the reference, bench/payload_reference.py: finds payload.bin in the zip, reads the
  manifest fields that place system's operations and streams each operation's data
  through Python's lzma (or bz2) into the output file; ZERO leaves holes. It verifies
  nothing: no signature, no payload, data or image hash, no properties, no bounds. It
  is the floor: the reading, decompressing and writing any extraction does.

Both images must equal system.img. The section gives each side's median wall time and
peak RSS and tsuf/reference ratios; the target is tsuf's peak RSS under 150 MiB (it
never holds an image). Prints a markdown section (or JSON with --json); exits 0 if the
targets are met, 3 if one is missed, 2 on an error. Temporary files are removed on exit.

    .venv/bin/python bench/payload_extract.py [--size 2048] [--image 1024] [--rounds 2] [--json]

An --image under 1024 MiB fails in mke2fs: the installed files staged for it need more
blocks or inodes than so small an ext4 has (bench/realistic_images.py).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from flash_throughput import targets_markdown  # noqa: E402
from realistic_images import ext4_system_image  # noqa: E402

from flasher.package.trust import TrustStore  # noqa: E402
from tests.payload import generator  # noqa: E402

MiB = 1 << 20
TARGET_RSS_MIB = 150
GNU_TIME = "/usr/bin/time"
REFERENCE = Path(__file__).with_name("payload_reference.py")
ROOT = Path(__file__).resolve().parent.parent
EXTRA_PARTITIONS = ("product", "vendor", "odm", "system_ext", "vendor_dlkm", "oem")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2048, metavar="MiB", help="payload size to reach (default 2048)")
    parser.add_argument("--image", type=int, default=1024, metavar="MiB", help="system.img size (default 1024)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, alternating which goes first (default 2)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not os.access(GNU_TIME, os.X_OK):
        print(f"payload_extract: {GNU_TIME} is needed for peak RSS (Debian package `time`)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="tsuf-bench-payload-"))
    try:
        results = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0 if all(target["met"] for target in results["targets"]) else 3


def run(args, work: Path) -> dict:
    image = ext4_system_image(work / "system.img", args.image)
    key = generator.rsa_key()
    started = time.monotonic()
    payload = generator.Payload()
    payload.add_full("system", image, compression="xz", chunk_blocks=512)
    for name in EXTRA_PARTITIONS:
        left = args.size * MiB - payload.blobs_size
        if left <= 0:
            break
        payload.add_full(name, _head(image, work / f"{name}.img", left), compression="raw", chunk_blocks=512)
    properties = payload.write(work / "payload.bin", key)
    ota = generator.ota_zip(work / "ota.zip", work / "payload.bin", properties)
    (work / "payload.bin").unlink()
    generated = time.monotonic() - started
    (work / "otacert.pem").write_bytes(generator.certificate_pem(key))
    TrustStore(work / "trust").import_oem_certificate(work / "otacert.pem")
    commands = {
        "tsuf": ([sys.executable, "-m", "flasher.cli.main", "payload", "extract", str(ota), "system",
                  "--out", str(work / "out"), "--trust-store", str(work / "trust")], work / "out" / "system.img"),
        "reference": ([sys.executable, str(REFERENCE), str(ota), "system", str(work / "reference.img")],
                      work / "reference.img"),
    }
    expected = _sha256(image)
    rounds = {"reference": [], "tsuf": []}
    for index in range(args.rounds):
        for side in ("reference", "tsuf") if index % 2 == 0 else ("tsuf", "reference"):
            command, output = commands[side]
            seconds, rss_mib = _measured(command, side)
            identical = _sha256(output) == expected
            output.unlink()
            if side == "reference" and not identical:
                raise SystemExit("payload_extract: the reference's system.img differs from the image; "
                                 "the comparison would mean nothing")
            rounds[side].append({"seconds": round(seconds, 2), "peak_rss_mib": round(rss_mib, 1),
                                 "identical": identical})
    tsuf, reference = (_medians(rounds[side]) for side in ("tsuf", "reference"))
    identical = all(r["identical"] for r in rounds["tsuf"])
    payload_bytes, image_bytes = ota.stat().st_size, image.stat().st_size
    return {
        "payload_mib": round(payload_bytes / MiB), "system_mib": round(image_bytes / MiB),
        "generated_seconds": round(generated, 1), "rounds": rounds,
        "seconds": tsuf["seconds"], "peak_rss_mib": tsuf["peak_rss_mib"],
        "reference_seconds": reference["seconds"], "reference_peak_rss_mib": reference["peak_rss_mib"],
        "seconds_ratio": round(tsuf["seconds"] / reference["seconds"], 2),
        "rss_ratio": round(tsuf["peak_rss_mib"] / reference["peak_rss_mib"], 2),
        "payload_verified_mib_s": round(payload_bytes / MiB / tsuf["seconds"], 1),
        "system_written_mib_s": round(image_bytes / MiB / tsuf["seconds"], 1),
        "identical": identical,
        "targets": [{"target": f"tsuf peak RSS < {TARGET_RSS_MIB} MiB", "value": tsuf["peak_rss_mib"],
                     "met": tsuf["peak_rss_mib"] < TARGET_RSS_MIB},
                    {"target": "tsuf's system.img byte-identical to the image", "value": identical,
                     "met": identical}],
    }


def _measured(command: list[str], side: str) -> tuple[float, float]:
    """Run `command` under GNU time after a sync; returns (wall seconds, peak RSS in MiB)."""
    subprocess.run(["sync"], check=True)
    started = time.monotonic()
    result = subprocess.run([GNU_TIME, "-v", *command], capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - started
    if result.returncode:
        raise SystemExit(f"payload_extract: {side} failed:\n{result.stderr[-2000:]}")
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return seconds, rss_kib / 1024


def _medians(rounds: list[dict]) -> dict:
    return {"seconds": round(statistics.median(r["seconds"] for r in rounds), 2),
            "peak_rss_mib": round(statistics.median(r["peak_rss_mib"] for r in rounds), 1)}


def _head(image: Path, out: Path, size: int) -> Path:
    """The image, or its first `size` bytes (whole blocks) when that is all the payload still needs."""
    if size >= image.stat().st_size:
        return image
    left = size - size % 4096
    with open(image, "rb") as source, open(out, "wb") as target:
        while left:
            chunk = source.read(min(MiB, left))
            target.write(chunk)
            left -= len(chunk)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def markdown(results: dict) -> str:
    r = results
    lines = [f"## OTA payload: one partition from a {r['payload_mib']} MiB payload", "",
             f"system extracted from a {r['payload_mib']} MiB signed OTA zip (system.img {r['system_mib']} MiB of "
             "real software as REPLACE_XZ, the rest REPLACE), each side a fresh process under GNU time, "
             f"{len(r['rounds']['tsuf'])} rounds alternating which goes first, medians. tsuf: `tsuf payload extract "
             "OTA system` verifies the whole payload (properties, hashes, both signatures), each operation's data "
             "and the image's hash. Reference: bench/payload_reference.py streams system's operations through "
             "Python's lzma into the file (ZERO left as holes) and verifies nothing: no signature, no payload, "
             "data or image hash, no properties, no bounds.",
             "", "| payload (MiB) | system.img (MiB) | reference wall (s) | tsuf wall (s) | tsuf/reference wall "
             "| reference peak RSS (MiB) | tsuf peak RSS (MiB) | tsuf/reference RSS | tsuf payload verified (MiB/s) "
             "| tsuf system written (MiB/s) |", "|---|---|---|---|---|---|---|---|---|---|",
             f"| {r['payload_mib']} | {r['system_mib']} | {r['reference_seconds']:.2f} | {r['seconds']:.2f} "
             f"| **{r['seconds_ratio']:.2f}** | {r['reference_peak_rss_mib']:.1f} | {r['peak_rss_mib']:.1f} "
             f"| **{r['rss_ratio']:.2f}** | {r['payload_verified_mib_s']} | {r['system_written_mib_s']} |",
             "", "Every round (seconds, reference / tsuf): " + ", ".join(
                 f"{a['seconds']:.2f} / {b['seconds']:.2f}" for a, b in zip(r["rounds"]["reference"],
                                                                             r["rounds"]["tsuf"]))]
    return "\n".join(lines + targets_markdown(r["targets"]))


if __name__ == "__main__":
    sys.exit(main())
