"""`tsuf devices` with nothing attached: how long a technician waits for "no handsets found".

What it measures, and why: `tsuf devices` is the first command typed at a bench and the
one scripts poll, so with nothing attached it must answer at once (target: median
<= 0.3 s). Each run is a fresh `tsuf devices` process with $TSUF_TARGETS and
$TSUF_DEVICE unset, timed with perf_counter around the subprocess after one untimed
warm-up. Then, in this process, each discovery source's own scan time (median of the
same runs): the USB bus, the network targets (none), and the serial ports (USB ones
only; a built-in UART such as /dev/ttyS0 used to cost a whole 0.8 s probe).

Prints a markdown section (or JSON with --json); exits 0 if the target is met, 3 if
missed, 1 on an error.

    .venv/bin/python bench/devices_scan.py [--runs 15] [--json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3
TSUF = Path(sys.executable).with_name("tsuf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {name: value for name, value in os.environ.items() if name not in ("TSUF_TARGETS", "TSUF_DEVICE")}
    command = [str(TSUF), "devices"]
    subprocess.run(command, env=env, capture_output=True, check=True)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    sources = source_times(args.runs)
    median = statistics.median(times)
    result = {"benchmark": "devices_scan", "runs": args.runs, "median_s": round(median, 3),
              "min_s": round(min(times), 3), "max_s": round(max(times), 3), "target_s": TARGET_S,
              "met": median <= TARGET_S, "source_median_s": sources}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("## `tsuf devices` with nothing attached\n")
        print(f"{args.runs} runs: median {median:.3f} s (min {min(times):.3f}, max {max(times):.3f}); "
              f"target <= {TARGET_S} s: {'met' if result['met'] else 'MISSED'}\n")
        print("| source | median scan (s) |\n|---|---|")
        for name, seconds in sources.items():
            print(f"| {name} | {seconds:.3f} |")
    return 0 if result["met"] else 3


def source_times(runs: int) -> dict[str, float]:
    from flasher.discovery.scanner import default_sources
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for source in default_sources():
            started = time.perf_counter()
            source.scan()
            samples.setdefault(source.name, []).append(time.perf_counter() - started)
    return {name: round(statistics.median(values), 3) for name, values in samples.items()}


if __name__ == "__main__":
    sys.exit(main())
