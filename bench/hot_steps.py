"""The tsuf side of bench/hot_paths.py: one step per process, importing only what that step needs.

Kept apart from hot_paths.py so that a measured process loads no benchmark code:
interpreter start-up is all that is added to the work, as for the reference tools.

    python bench/hot_steps.py sparse IMAGE OUT
    python bench/hot_steps.py split IMAGE FOLDER LIMIT        (prints {"pieces": N})
    python bench/hot_steps.py readback ADDRESS PARTITION SIZE (prints the SHA-256)
    python bench/hot_steps.py apply PACKAGE TRUST PARTITION SOURCE DEST
"""

import sys
from pathlib import Path


def main(step: str, *params: str) -> int:
    if step == "sparse":
        from flasher.sparse import write_sparse
        image, output = params
        with open(output, "wb") as out:
            write_sparse(image, out)
    elif step == "split":
        from flasher.sparse import split
        image, folder, limit = params
        Path(folder).mkdir()
        pieces = split(image, int(limit))
        for index, piece in enumerate(pieces):
            with open(Path(folder) / f"piece-{index}.simg", "wb") as out:
                for data in piece.stream():
                    out.write(data)
        print(f'{{"pieces": {len(pieces)}}}')
    elif step == "readback":
        from flasher.fastboot import FastbootDevice
        from flasher.update.readback import read_back_sha256
        address, partition, size = params
        with FastbootDevice.open(address) as device:
            print(read_back_sha256(device, partition, int(size)))
    elif step == "apply":
        from flasher.delta.apply import reconstruct
        from flasher.package.archive import PackageReader
        from flasher.package.trust import TrustStore
        package, trust, partition, source, dest = params
        with PackageReader(Path(package), TrustStore(Path(trust))) as reader:
            reconstruct(reader, partition, Path(source), Path(dest))
    else:
        raise SystemExit(f"hot_steps: unknown step {step!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
