"""`tsuf library`: the folders of packages this station chooses from, and their index."""

import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..library.index import Library, ScanResult
from .catalog_command import package_line
from .keys_command import trust_store


def run_library_command(args) -> int:
    return _COMMANDS[args.library_command](args)


def _report_scan(args, result: ScanResult) -> None:
    if args.json:
        print(json.dumps({"packages": [asdict(p) for p in result.packages],
                          "skipped": [{"path": path, "reason": why} for path, why in result.skipped]}, indent=2))
        return
    print(f"{len(result.packages)} package(s) indexed")
    for path, why in result.skipped:
        print(f"tsuf: warning: skipped {path}: {why}", file=sys.stderr)


def _add(args) -> int:
    library = Library.default()
    folder = library.add(Path(args.folder))
    print(f"added {folder}")
    _report_scan(args, library.scan(trust_store(args)))
    return 0


def _remove(args) -> int:
    Library.default().remove(Path(args.folder))
    print(f"removed {Path(args.folder).absolute()}")
    return 0


def _list(args) -> int:
    library = Library.default()
    folders, packages = library.folders(), library.packages()
    if args.json:
        print(json.dumps({"index": str(library.index_path), "folders": [str(f) for f in folders],
                          "packages": [asdict(p) for p in packages]}, indent=2))
        return 0
    print(f"{library.index_path}: {len(folders)} folder(s) and the firmware cache, {len(packages)} package(s)")
    for folder in folders:
        print(f"  folder {folder}")
    for package in sorted(packages, key=lambda p: (p.product, p.build, p.type, p.install, p.kind)):
        why_not = "" if package.trusted else "no trusted OEM certificate verified it"
        print(f"{package_line(package, str(package.path))}  signer: {package.signer}"
              + (f"; not offered: {why_not}" if why_not else ""))
    return 0


def _scan(args) -> int:
    _report_scan(args, Library.default().scan(trust_store(args)))
    return 0


_COMMANDS = {"add": _add, "remove": _remove, "list": _list, "scan": _scan}
