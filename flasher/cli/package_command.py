"""`tsuf package`: build, inspect and verify signed packages."""

import json
from pathlib import Path

from ..package.archive import PackageReader, inspect_package
from ..package.build import build_package, load_description
from ..package.errors import BuildError
from ..package.keys import load_private_key
from ..package.manifest import Manifest
from .keys_command import trust_store
from .progress import ProgressBar, human_bytes


def run_package_command(args) -> int:
    return _COMMANDS[args.package_command](args)


def _emit(args, data, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def _summary(manifest: Manifest) -> list[str]:
    lines = [f"package {manifest.package_id}: {manifest.type} update to {manifest.build} for {manifest.product} "
             f"(hardware {', '.join(manifest.hw_revisions)}), rollback index {manifest.rollback_index}"
             + (", installed by recovery (sideload)" if manifest.install == "sideload" else "")]
    lines += [f"  {entry.partition:<16} {human_bytes(entry.size):>10}  {'slotted' if entry.slotted else 'unslotted'}"
              + (f"  {entry.delta.method} from {entry.delta.source_build}" if entry.delta else "")
              for entry in manifest.images]
    return lines


def _build(args) -> int:
    signing_keys = [load_private_key(Path(path)) for path in args.key]
    oem_key = load_private_key(Path(args.oem_key)) if args.oem_key else None
    if args.target:
        if args.install == "sideload":
            raise BuildError("recovery installs full packages only: --install sideload makes no delta")
        return _build_delta(args, signing_keys, oem_key)
    if args.source or args.source_build:
        raise BuildError("--source and --source-build make a delta package; give --target with them")
    if not args.describe:
        raise BuildError("--describe is required for a full package")
    source = Path(args.images or args.from_update_zip)
    manifest = build_package(source, load_description(Path(args.describe)), signing_keys, Path(args.output),
                             oem_key=oem_key, install=args.install)
    signers = [key.key_id for key in signing_keys]
    _emit(args, {"output": args.output, "manifest": manifest.to_dict(), "signers": signers},
          "\n".join(_summary(manifest) + [f"signed by {', '.join(signers)}", f"wrote {args.output}"]))
    return 0


def _build_delta(args, signing_keys, oem_key) -> int:
    from ..delta.build import build_delta_package

    if not args.source:
        raise BuildError("a delta package needs --source OLD as well as --target NEW")
    description = load_description(Path(args.describe)) if args.describe else None
    bars = _PartitionBars()
    try:
        result = build_delta_package(
            Path(args.source), Path(args.target), signing_keys, Path(args.output), description=description,
            source_build=args.source_build, trust_store=trust_store(args), oem_key=oem_key, workers=args.workers,
            progress=bars)
    finally:
        bars.finish()
    manifest = result.manifest
    ratio = result.package_bytes / max(result.full_bytes, 1)
    lines = _summary(manifest) + [f"delta from {manifest.source_build}: {human_bytes(result.package_bytes)}, "
              f"{ratio:.1%} of the full images deflated ({human_bytes(result.full_bytes)}), "
              f"built in {result.seconds:.1f} s on {result.workers} workers", f"wrote {args.output}"]
    _emit(args, {"output": args.output, "manifest": manifest.to_dict(), "package_bytes": result.package_bytes,
                 "full_bytes": result.full_bytes, "seconds": round(result.seconds, 3), "workers": result.workers,
                 "signers": [key.key_id for key in signing_keys]}, "\n".join(lines))
    return 0


class _PartitionBars:
    """One progress bar per partition being diffed."""

    def __init__(self):
        self.partition, self.bar = None, None

    def __call__(self, partition: str, done: int, total: int) -> None:
        if partition != self.partition:
            self.finish()
            self.partition, self.bar = partition, ProgressBar(f"diffing {partition}")
        self.bar.update(done, total)

    def finish(self) -> None:
        if self.bar:
            self.bar.finish()
            self.bar = None


def _inspect(args) -> int:
    info = inspect_package(Path(args.package), trust_store(args))
    report = info.signatures
    signers = ([{"key_id": k, "status": "trusted"} for k in report.trusted]
               + [{"key_id": k, "status": "bad signature"} for k in report.bad]
               + [{"key_id": k, "status": "unknown key"} for k in report.unknown])
    lines = _summary(info.manifest) + [f"signer {s['key_id']}: {s['status']}" for s in signers]
    lines.append(f"trusted: {info.admission.describe()}" if info.admission else f"NOT trusted: {info.refusal}")
    _emit(args, {**info.manifest.to_dict(), "signers": signers, "trusted": info.admission is not None,
                 "admitted_by": info.admission.describe() if info.admission else None}, "\n".join(lines))
    return 0


def _verify(args) -> int:
    with PackageReader(Path(args.package), trust_store(args)) as reader:
        reader.verify_all()
        trusted = reader.trusted
    _emit(args, {"package": args.package, "package_sha256": reader.package_sha256,
                 "manifest_sha256": trusted.manifest_sha256, "trusted_signers": list(trusted.admission.trusted_signers),
                 "unknown_signers": list(trusted.admission.unknown), "admitted_by": trusted.admission.describe(),
                 "intact": True},
          f"{args.package}: trusted ({trusted.admission.describe()}) and intact")
    return 0


_COMMANDS = {"build": _build, "inspect": _inspect, "verify": _verify}
