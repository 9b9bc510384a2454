"""Partition images made of real software, for benchmarks that must see what a bench sees.

Random or zero blocks hide costs that real images have (compressible runs, file
data that moves between builds, long constant stretches). `ext4_system_image`
packs files that are installed on this machine (Python's standard library, the
venv's packages, shared libraries) into an ext4 image with mke2fs, the way a
build system makes system.img: a file system filled to `fill` of its size, the
rest free blocks.

`release_pair` makes two consecutive "builds" for delta benchmarks: system.img is
ext4 holding real wheels of one release each (numpy, pandas, botocore: the patch
releases that followed each other on PyPI), made with the same UUID, hash seed and
time so only the content differs; boot.img is a native library (numpy's core
extension) from the same two releases. Wheels are downloaded once with pip into a
cache folder (`$TSUF_BENCH_CACHE`, default ~/.cache/tsuf-bench).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
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


# (package, older release, the release after it): CPython 3.11 x86-64 wheels.
RELEASES = (("numpy", "1.26.3", "1.26.4"), ("pandas", "2.2.1", "2.2.2"), ("botocore", "1.34.100", "1.34.101"))
BOOT_LIBRARY = ("numpy", "numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
# Fixed, so two builds of the same files give the same image.
FS_UUID = "5c1e4f00-7e57-4d00-9a00-00000000d17a"
FS_TIME = "1700000000"


def bench_cache() -> Path:
    return Path(os.environ.get("TSUF_BENCH_CACHE") or Path.home() / ".cache" / "tsuf-bench")


def wheel(name: str, version: str, cache: Path | None = None) -> Path:
    """The wheel of `name`==`version` from the cache, downloaded with pip the first time."""
    folder = (cache or bench_cache()) / "wheels"
    prefix = f"{name.replace('-', '_')}-{version}-"
    found = sorted(folder.glob(f"{prefix}*.whl"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "-d", str(folder),
                        f"{name}=={version}"], check=True)
        found = sorted(folder.glob(f"{prefix}*.whl"))
    return found[0]


def ext4_image_of(folder: Path, output: Path, size_mib: int) -> Path:
    """`folder` as an ext4 image with the fixed UUID, hash seed and time: only the files make it differ."""
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-U", FS_UUID,
                    "-E", f"root_owner=0:0,hash_seed={FS_UUID}", "-d", str(folder), str(output), f"{size_mib}M"],
                   check=True, stdout=subprocess.DEVNULL, env={**os.environ, "E2FSPROGS_FAKE_TIME": FS_TIME})
    return output


def release_pair(folder: Path, size_mib: int, cache: Path | None = None) -> tuple[Path, Path]:
    """folder/source (the older release) and folder/target, each with system.img (ext4 of `size_mib` MiB) and boot.img."""
    sides = {"source": 1, "target": 2}
    for side, which in sides.items():
        build = folder / side
        build.mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="tsuf-release-") as staging:
            site = Path(staging) / "site-packages"
            for release in RELEASES:
                with zipfile.ZipFile(wheel(release[0], release[which], cache)) as archive:
                    archive.extractall(site)
            ext4_image_of(Path(staging), build / "system.img", size_mib)
        name, member = BOOT_LIBRARY
        version = next(release[which] for release in RELEASES if release[0] == name)
        with zipfile.ZipFile(wheel(name, version, cache)) as archive:
            (build / "boot.img").write_bytes(archive.read(member))
    return folder / "source", folder / "target"


if __name__ == "__main__":
    image = ext4_system_image(Path(sys.argv[1]), int(sys.argv[2]))
    print(image, image.stat().st_size)
