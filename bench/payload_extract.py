"""Extracting one partition from a ~2 GiB OTA payload: peak RSS and throughput of `tsuf payload extract`.

The payload is made of real software: bench/realistic_images.py's ext4 system image
(installed files packed with mke2fs), as REPLACE_XZ operations of 2 MiB (update_engine's
chunk) with ZERO for free blocks, then the same image as REPLACE partitions (product,
vendor, ...: data a build could not compress) until the payload reaches --size. It is
signed with a test RSA key (tests/payload/generator.py) inside an OTA zip, payload.bin
stored. `tsuf payload extract OTA system` then runs as its own process under GNU
`/usr/bin/time -v`: it verifies the whole payload (properties, both hashes, both
signatures), applies system's operations and checks its hash; the output must equal
the image.

Prints a markdown section (or JSON with --json); exits 0 if the targets are met, 3 if
one is missed, 2 on an error. Temporary files are removed on exit.

    .venv/bin/python bench/payload_extract.py [--size 2048] [--image 1024] [--json]
"""

import argparse
import hashlib
import json
import os
import re
import shutil
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
EXTRA_PARTITIONS = ("product", "vendor", "odm", "system_ext", "vendor_dlkm", "oem")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2048, metavar="MiB", help="payload size to reach (default 2048)")
    parser.add_argument("--image", type=int, default=1024, metavar="MiB", help="system.img size (default 1024)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args()
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

    command = [GNU_TIME, "-v", sys.executable, "-m", "flasher.cli.main", "payload", "extract", str(ota), "system",
               "--out", str(work / "out"), "--trust-store", str(work / "trust")]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    seconds = time.monotonic() - started
    if result.returncode:
        raise SystemExit(f"payload_extract: tsuf failed:\n{result.stderr[-2000:]}")
    rss_mib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    identical = _sha256(work / "out" / "system.img") == _sha256(image)
    payload_bytes, image_bytes = ota.stat().st_size, image.stat().st_size
    return {
        "payload_mib": round(payload_bytes / MiB), "system_mib": round(image_bytes / MiB),
        "generated_seconds": round(generated, 1), "seconds": round(seconds, 2),
        "payload_verified_mib_s": round(payload_bytes / MiB / seconds, 1),
        "system_written_mib_s": round(image_bytes / MiB / seconds, 1),
        "peak_rss_mib": round(rss_mib, 1), "identical": identical,
        "targets": [{"target": f"peak RSS < {TARGET_RSS_MIB} MiB", "value": round(rss_mib, 1),
                     "met": rss_mib < TARGET_RSS_MIB},
                    {"target": "system.img byte-identical to the image", "value": identical, "met": identical}],
    }


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
    lines = ["## OTA payload: one partition from a 2 GiB payload", "",
             f"`tsuf payload extract OTA system` on a {results['payload_mib']} MiB signed OTA zip (system.img "
             f"{results['system_mib']} MiB of real software as REPLACE_XZ, the rest REPLACE), one process under "
             "GNU time: verify the whole payload (properties, hashes, both signatures), apply system, check its hash.",
             "", "| payload (MiB) | system.img (MiB) | wall (s) | payload verified (MiB/s) | system written (MiB/s) "
             "| peak RSS (MiB) |", "|---|---|---|---|---|---|",
             f"| {results['payload_mib']} | {results['system_mib']} | {results['seconds']} | "
             f"{results['payload_verified_mib_s']} | {results['system_written_mib_s']} | {results['peak_rss_mib']} |"]
    return "\n".join(lines + targets_markdown(results["targets"]))


if __name__ == "__main__":
    sys.exit(main())
