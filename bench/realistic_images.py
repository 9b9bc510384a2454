"""Partition images made of real software, for benchmarks that must see what a bench sees.

Random or zero blocks hide costs that real images have (compressible runs, file
data that moves between builds, long constant stretches). `ext4_system_image`
packs files that are installed on this machine (Python's standard library, the
venv's packages, shared libraries) into an ext4 image with mke2fs, the way a
build system makes system.img: a file system filled to `fill` of its size, the
rest free blocks.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

SOFTWARE_FOLDERS = (
    Path(sysconfig.get_paths()["stdlib"]),
    Path(sysconfig.get_paths()["purelib"]),
    Path("/usr/lib/x86_64-linux-gnu"),
    Path("/usr/share/doc"),
    Path("/usr/lib/python3/dist-packages"),
)


def software_files(folders=SOFTWARE_FOLDERS):
    """Regular files under `folders`, in a stable order (same machine, same image)."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                if path.is_file() and not path.is_symlink():
                    yield folder, path


def stage_software(staging: Path, budget: int, folders=SOFTWARE_FOLDERS) -> int:
    """Copy real files into `staging` until `budget` bytes; returns the bytes copied."""
    copied = 0
    for folder, path in software_files(folders):
        size = path.stat().st_size
        if copied + size > budget:
            if copied > budget * 0.95:
                break
            continue
        target = staging / folder.name / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, target)
        except OSError:  # unreadable system file: skip it
            continue
        copied += size
    return copied


def ext4_system_image(output: Path, size_mib: int, fill: float = 0.7, folders=SOFTWARE_FOLDERS) -> Path:
    """An ext4 image of `size_mib` MiB whose files (about `fill` of it) are real software."""
    with tempfile.TemporaryDirectory(prefix="tsuf-rootfs-") as staging:
        stage_software(Path(staging), int(size_mib * 2**20 * fill), folders)
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-E", "root_owner=0:0",
                        "-d", staging, str(output), f"{size_mib}M"],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "E2FSPROGS_FAKE_TIME": "1700000000"})
    return output


if __name__ == "__main__":
    image = ext4_system_image(Path(sys.argv[1]), int(sys.argv[2]))
    print(image, image.stat().st_size)
