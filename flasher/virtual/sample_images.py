"""Firmware-like images for demos, tests and benchmarks.

Shaped like real partition images: mostly zero blocks, with runs of
incompressible content, so sparse encoding and throughput behave as they do
on real builds. Deterministic for a given seed.
"""

import random
from pathlib import Path

BLOCK = 4096


def write_image(path: Path, size: int, *, seed: int, content_fraction: float = 0.3) -> Path:
    """Write `size` bytes (a multiple of 4096) where about `content_fraction` of the
    blocks carry random content, in runs, and the rest are zero."""
    if size % BLOCK:
        raise ValueError("image size must be a multiple of 4096")
    rng = random.Random(seed)
    blocks = size // BLOCK
    with open(path, "wb") as out:
        done = 0
        while done < blocks:
            run = min(rng.randint(1, 256), blocks - done)
            if rng.random() < content_fraction:
                out.write(rng.randbytes(run * BLOCK))
            else:
                out.write(bytes(run * BLOCK))
            done += run
    return path
