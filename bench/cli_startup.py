"""CLI start-up: how long `tsuf --version` takes, next to a bare `python -c pass`.

What it measures, and why: tsuf is run from scripts and factory lines many
times a minute, so a command that does little must cost little (target:
median `tsuf --version` < 0.3 s). `python -c pass` from the same venv is the
floor no Python CLI can beat; the ratio shows what tsuf adds on top. Each run
is a fresh interpreter (cold-ish: the OS file cache is warm), timed with
perf_counter around the subprocess, after one untimed warm-up. The two are
interleaved so drift on a shared machine hits both alike.

Two bytecode conditions: "as configured" inherits the environment (this one may
set PYTHONDONTWRITEBYTECODE, which makes every run compile flasher's source),
and "bytecode cached" writes .pyc files to a temporary PYTHONPYCACHEPREFIX,
as a pip install would have compiled them. Both are reported; the target
must hold for both.

It also runs `python -X importtime -m flasher.cli.main --version` (bytecode
cached, 5 runs, median per module) to check that no PySide6 (Qt) module is
imported, and lists the 5 imports with the largest cumulative time: overall
(interpreter start-up, `site`, dominates) and among the modules that
`python -c pass` does not import, i.e. what tsuf itself pulls in.

Prints a markdown section (or JSON with --json); exits 0 if the targets are
met, 3 if one is missed, 1 on an error.

    .venv/bin/python bench/cli_startup.py [--runs 20] [--json]
"""

import argparse
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

from flash_throughput import targets_markdown

TARGET_S = 0.3
TARGET_MISSED = 3  # exit status: it ran, but a target was missed (1 and 2 are errors)
PYTHON = sys.executable  # the venv's interpreter
TSUF = str(Path(PYTHON).parent / "tsuf")
FORBIDDEN = ("PySide6", "shiboken6")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="tsuf-pycache-")
    try:
        cached_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached_env["PYTHONPYCACHEPREFIX"] = cache
        conditions = {"as configured": dict(os.environ), "bytecode cached": cached_env}
        startup = {name: compare(env, args.runs) for name, env in conditions.items()}
        imports = import_times(cached_env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    worst = max(s["tsuf"]["median_s"] for s in startup.values())
    qt = [name for name in imports["modules"] if name.split(".")[0] in FORBIDDEN]
    results = {
        "benchmark": "cli_startup", "runs": args.runs, "python": sys.version.split()[0],
        "dont_write_bytecode_env": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "startup": startup, "qt_modules_imported": qt, "top_imports": imports["top"],
        "top_imports_not_in_python_c_pass": imports["top_tsuf"],
        "targets": [
            {"target": f"median `tsuf --version` < {TARGET_S} s (both conditions)",
             "value": worst, "met": worst < TARGET_S},
            {"target": "no PySide6 import for `--version`", "value": len(qt), "met": not qt},
        ],
    }
    results["targets_met"] = all(t["met"] for t in results["targets"])
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0 if results["targets_met"] else TARGET_MISSED


def compare(env: dict, runs: int) -> dict:
    commands = {"tsuf": [TSUF, "--version"], "python": [PYTHON, "-c", "pass"]}
    times = {name: [] for name in commands}
    for i in range(runs + 1):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            if i:  # run 0 is the warm-up
                times[name].append(time.perf_counter() - started)
    result = {name: {"median_s": round(statistics.median(t), 4), "min_s": round(min(t), 4)}
              for name, t in times.items()}
    result["ratio"] = round(result["tsuf"]["median_s"] / result["python"]["median_s"], 2)
    return result


IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(env: dict, *args: str) -> str:
    return subprocess.run([PYTHON, "-X", "importtime", *args], env=env, check=True,
                          capture_output=True, text=True).stderr


def import_times(env: dict, runs: int = 5) -> dict:
    """Median cumulative import time per module; the 5 largest overall and among tsuf's own."""
    baseline = {m.group(4) for m in IMPORT_LINE.finditer(importtime(env, "-c", "pass"))}
    samples: dict[str, list[int]] = {}
    roots: dict[str, str] = {}
    for _ in range(runs + 1):  # the first run may write bytecode; it is not counted
        err = importtime(env, "-m", "flasher.cli.main", "--version")
        pending = []  # importtime prints children before their parent
        for match in IMPORT_LINE.finditer(err):
            _self_us, cumulative, indent, name = match.groups()
            samples.setdefault(name, []).append(int(cumulative))
            pending.append(name)
            if len(indent) == 1:  # a top-level import: everything pending belongs to it
                roots.update((child, name) for child in pending)
                pending = []
    medians = {name: statistics.median(s[1:] if len(s) > 1 else s) for name, s in samples.items()}
    ranked = sorted(medians, key=medians.get, reverse=True)

    def row(name: str) -> dict:
        return {"module": name, "cumulative_ms": round(medians[name] / 1000, 1), "under": roots.get(name, name)}
    return {"modules": list(samples), "top": [row(n) for n in ranked[:5]],
            "top_tsuf": [row(n) for n in ranked if n not in baseline][:5]}


def markdown(r: dict) -> str:
    lines = [
        "## CLI start-up: `tsuf --version`",
        "",
        f"{r['runs']} fresh interpreters each (after one warm-up), `tsuf --version` interleaved with "
        f"`python -c pass` from the same venv (Python {r['python']}). \"as configured\" inherits the "
        f"environment (PYTHONDONTWRITEBYTECODE={r['dont_write_bytecode_env'] or 'unset'}); "
        "\"bytecode cached\" uses a temporary PYTHONPYCACHEPREFIX, as after a pip install.",
        "",
        "| condition | tsuf median (s) | tsuf min (s) | python -c pass median (s) | min (s) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in r["startup"].items():
        t, p = s["tsuf"], s["python"]
        lines.append(f"| {name} | {t['median_s']:.3f} | {t['min_s']:.3f} | {p['median_s']:.3f} "
                     f"| {p['min_s']:.3f} | {s['ratio']:.2f} |")
    lines += ["", "`python -X importtime -m flasher.cli.main --version` (bytecode cached, median of 5): "
              f"PySide6 imported: **{'yes: ' + ', '.join(r['qt_modules_imported']) if r['qt_modules_imported'] else 'no'}**. "
              "Top 5 by cumulative time, overall and among the imports `python -c pass` does not make:", "",
              "| overall | cumulative (ms) | imported under | not in `python -c pass` | cumulative (ms) "
              "| imported under |", "|---|---|---|---|---|---|"]
    for a, b in zip(r["top_imports"], r["top_imports_not_in_python_c_pass"]):
        lines.append(f"| `{a['module']}` | {a['cumulative_ms']} | `{a['under']}` "
                     f"| `{b['module']}` | {b['cumulative_ms']} | `{b['under']}` |")
    return "\n".join(lines + targets_markdown(r["targets"])) + "\n"


if __name__ == "__main__":
    sys.exit(main())
