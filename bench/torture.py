"""The full torture run: hundreds of updates, one injected fault each, invariants checked.

    .venv/bin/python bench/torture.py [--cases 500] [--seed N] [--out docs/reliability.md]

Each case is one fault (link drop, FAIL, stall, device killed, power cut, station
killed, serial line noise) at one phase of an A/B update (tests/support/torture.py
says how each is placed), then a clean second run. Writes docs/reliability.md
with the figures and the command; exits 0 only with no invariant violated.
"""

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.torture import Bench, cases, summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="docs/reliability.md")
    parser.add_argument("--jobs", type=int, default=1,
                        help="cases run side by side, each on its own handset and station (most of a case is waiting)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    todo = cases(args.cases, args.seed)
    with tempfile.TemporaryDirectory(prefix="tsuf-torture-") as folder:
        def worker(number: int) -> list:
            home = Path(folder) / f"worker-{number}"
            home.mkdir()
            bench = Bench(home)
            return [_run_one(bench, case) for case in todo[number::args.jobs]]
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = sorted((outcome for done in pool.map(worker, range(args.jobs)) for outcome in done),
                              key=lambda outcome: outcome.case.number)
    figures = summary(outcomes)
    figures["first run results"] = dict(Counter(o.first for o in outcomes))
    figures["minutes"] = round((time.monotonic() - started) / 60, 1)
    command = f".venv/bin/python bench/torture.py --cases {args.cases} --seed {args.seed} --jobs {args.jobs}"
    if args.json:
        print(json.dumps(figures, indent=2))
    out = Path(args.out)
    fuzzing = out.read_text().partition("## Fuzzing")[1:] if out.exists() else ("", "")
    out.write_text(_document(figures, command, outcomes) + ("\n" + "".join(fuzzing) if fuzzing[0] else ""))
    return 0 if figures["invariant violations"] == 0 else 1


def _run_one(bench: Bench, case):
    outcome = bench.run(case)
    status = "ok" if not outcome.violations else "VIOLATED: " + "; ".join(outcome.violations)
    print(f"{case.number:4} {case.phase:13} {case.kind:14} first {outcome.first:18} "
          f"second {outcome.second:8} {'resumed' if outcome.resumed else 'restarted':9} {status}",
          file=sys.stderr, flush=True)
    return outcome


def _document(figures: dict, command: str, outcomes) -> str:
    lines = ["# Reliability", "",
             f"Written by `{command}`; run it again to reproduce. CI runs a seeded sample of 60 cases",
             "(`tests/torture/`). How each fault is placed: `tests/support/torture.py`.", "",
             "| figure | value |", "|---|---|"]
    for key in ("cases", "invariant violations", "bricked handsets", "second run resumed", "second run restarted",
                "minutes"):
        lines.append(f"| {key} | {figures[key]} |")
    for key in ("faults by kind", "faults by phase", "first run results"):
        lines += ["", f"**{key.capitalize()}**", "", "| | cases |", "|---|---|"]
        lines += [f"| {name} | {count} |" for name, count in sorted(figures[key].items())]
    violated = [o for o in outcomes if o.violations]
    lines += ["", "## Invariants checked after every run", "",
              "- the handset's active slot is bootable and verifies against its OEM-signed boot metadata",
              "  (nothing half-written is ever active; no handset is left without a bootable slot);",
              "- until the new build has booted on the handset, a slot still holds the last build known to",
              "  boot: no rerun after a fault in the switch, reboot or confirmation overwrites it;",
              "- the second run, with nothing injected, succeeds (resuming where it can);",
              "- the history holds one finished report per attempt (a killed station's attempt is closed",
              "  as HOST_INTERRUPTED by the next run).", ""]
    if violated:
        lines += ["## Violations", ""] + [f"- case {o.case.number} ({o.case.phase}, {o.case.kind}): "
                                          f"{'; '.join(o.violations)}" for o in violated]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
