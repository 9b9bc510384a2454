"""`tsuf package`: build, inspect and verify signed packages."""

import json
from pathlib import Path

from ..package.archive import PackageReader, inspect_package
from ..package.build import build_package, load_description
from ..package.keys import load_private_key
from ..package.manifest import Manifest
from .keys_command import trust_store


def run_package_command(args) -> int:
    return _COMMANDS[args.package_command](args)


def _emit(args, data, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def _summary(manifest: Manifest) -> list[str]:
    lines = [f"package {manifest.package_id}: {manifest.type} update to {manifest.build} for {manifest.product} "
             f"(hardware {', '.join(manifest.hw_revisions)}), rollback index {manifest.rollback_index}"]
    lines += [f"  {entry.partition:<16} {entry.size:>12} bytes  {'slotted' if entry.slotted else 'unslotted'}"
              for entry in manifest.images]
    return lines


def _build(args) -> int:
    signing_keys = [load_private_key(Path(path)) for path in args.key]
    oem_key = load_private_key(Path(args.oem_key)) if args.oem_key else None
    source = Path(args.images or args.from_update_zip)
    manifest = build_package(source, load_description(Path(args.describe)), signing_keys, Path(args.output),
                             oem_key=oem_key)
    signers = [key.key_id for key in signing_keys]
    _emit(args, {"output": args.output, "manifest": manifest.to_dict(), "signers": signers},
          "\n".join(_summary(manifest) + [f"signed by {', '.join(signers)}", f"wrote {args.output}"]))
    return 0


def _inspect(args) -> int:
    info = inspect_package(Path(args.package), trust_store(args))
    report = info.signatures
    signers = ([{"key_id": k, "status": "trusted"} for k in report.trusted]
               + [{"key_id": k, "status": "bad signature"} for k in report.bad]
               + [{"key_id": k, "status": "unknown key"} for k in report.unknown])
    trusted = bool(report.trusted) and not report.bad
    lines = _summary(info.manifest) + [f"signer {s['key_id']}: {s['status']}" for s in signers]
    lines.append("trusted" if trusted else "NOT trusted: tsuf package verify says why")
    _emit(args, {**info.manifest.to_dict(), "signers": signers, "trusted": trusted}, "\n".join(lines))
    return 0


def _verify(args) -> int:
    with PackageReader(Path(args.package), trust_store(args)) as reader:
        reader.verify_all()
        trusted = reader.trusted
    _emit(args, {"package": args.package, "package_sha256": reader.package_sha256,
                 "manifest_sha256": trusted.manifest_sha256, "trusted_signers": list(trusted.trusted_signers),
                 "unknown_signers": list(trusted.unknown_signers), "intact": True},
          f"{args.package}: trusted (signed by {', '.join(trusted.trusted_signers)}) and intact")
    return 0


_COMMANDS = {"build": _build, "inspect": _inspect, "verify": _verify}
