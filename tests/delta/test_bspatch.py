"""Debian's bspatch (package `bsdiff`) applies a window's patch cut out of the package: the format is standard.

The patch makes the window's diff bytes, back to back, from its reference extents, back to back.

Never skipped: CI installs bsdiff, and a missing bspatch fails here rather than hiding a format drift.
"""

import subprocess

from flasher.package.archive import PackageReader

from .conftest import window_patch

BSPATCH = "/usr/bin/bspatch"


def test_debian_bspatch_applies_one_window_to_the_right_bytes(delta_build, tmp_path):
    with PackageReader(delta_build.package, delta_build.store) as reader:
        windows = reader.manifest.image("system").delta.windows
    index = len(windows) // 2
    window = windows[index]
    assert window.diff_size and window.reference
    source = delta_build.source_image("system").read_bytes()
    (tmp_path / "old").write_bytes(b"".join(source[offset:offset + length] for offset, length in window.reference))
    (tmp_path / "patch").write_bytes(window_patch(delta_build.package, "system", index))
    subprocess.run([BSPATCH, str(tmp_path / "old"), str(tmp_path / "new"), str(tmp_path / "patch")],
                   check=True, timeout=60)
    target, at, diffed = delta_build.target_bytes("system"), window.target_offset, []
    for op in window.ops:
        if op.kind == "diff":
            diffed.append(target[at:at + op.length])
        at += op.length
    assert (tmp_path / "new").read_bytes() == b"".join(diffed)
