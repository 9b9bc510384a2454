"""trust.py is the one place that decides whether a package is trusted."""

import re
from pathlib import Path

FLASHER = Path(__file__).resolve().parents[2] / "flasher"
# bootmeta checks the handset's OEM key, not a package: the handset's own decision; adb/auth
# is adbd checking the host that asks for USB debugging, not a package either.
ALLOWED = {FLASHER / "package" / "keys.py", FLASHER / "package" / "trust.py", FLASHER / "package" / "bootmeta.py",
           FLASHER / "adb" / "auth.py"}


def test_only_trust_checks_package_signatures():
    callers = {path for path in FLASHER.rglob("*.py")
               if re.search(r"verify_signature\(|\.verify\(\s*signature", path.read_text())}
    assert callers <= ALLOWED
