"""The full fuzz run: every parser of untrusted bytes, 10,000 inputs each.

    .venv/bin/python bench/fuzz.py [--out docs/reliability.md]

Runs the property tests that feed parsers arbitrary bytes (tests/fuzz, the
sparse reader, the serial framing, and every other @given test) under the
`full` Hypothesis profile, and writes their counts into the "Fuzzing" section
of docs/reliability.md. Any input that raises anything but the parser's named
error fails its test.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Fuzzing"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"))
    args = parser.parse_args()
    tests = sorted({str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("test_*.py")
                    if "@given" in path.read_text()})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics",
               *tests]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "TSUF_FUZZ": "full"})
    rows = re.findall(r"^(\S+::\S+):\n(?:.*\n)*?.*?(\d+) passing, (\d+) failing, and (\d+) invalid",
                      done.stdout, flags=re.M)
    failed = done.returncode != 0
    lines = [SECTION, "", "Written by `.venv/bin/python bench/fuzz.py` (Hypothesis profile `full`: 10,000 inputs",
             "per property; CI runs the same properties with 300).", "",
             "| property | inputs | failing |", "|---|---|---|"]
    lines += [f"| `{name}` | {passing} | {failing} |" for name, passing, failing, _ in rows]
    lines += ["", f"Unexpected exceptions: {'see the failing rows' if failed else '0'}."]
    out = Path(args.out)
    text = out.read_text() if out.exists() else "# Reliability\n"
    text = text.split(SECTION)[0].rstrip() + "\n\n" + "\n".join(lines) + "\n"
    out.write_text(text)
    print("\n".join(lines))
    if failed:
        print(done.stdout[-3000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
