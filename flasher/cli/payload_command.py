"""`tsuf payload`: inspect Android OTA packages (payload.bin), extract their partitions, trust makers' OTA keys."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..payload.errors import DeadlineExceeded
from ..payload.extract import extract, select_partitions
from ..payload.reader import Payload, read_payload
from ..payload.verify import FAILED, Verification, verify_payload
from .keys_command import trust_store
from .progress import human_bytes, progress_bar


def run_payload_command(args) -> int:
    return _COMMANDS[args.payload_command](args)


class _Deadline:
    """--deadline: the longest the whole command may run; checked as work moves."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.ends = None if seconds is None else time.monotonic() + seconds

    def check(self, doing: str) -> None:
        if self.ends is not None and time.monotonic() > self.ends:
            raise DeadlineExceeded(f"{doing} ran past the {self.seconds:g} s deadline; nothing was written")


def _verify(args, payload: Payload, deadline: _Deadline) -> Verification:
    with progress_bar("verify payload") as bar:
        def moved(done: int, total: int) -> None:
            bar.update(done, total)
            deadline.check("verifying the payload")
        return verify_payload(payload, trust_store(args), properties_path=Path(args.properties) if args.properties
                              else None, use_otacert=args.otacert, progress=moved)


def _inspect(args) -> int:
    deadline = _Deadline(args.deadline)
    payload = read_payload(Path(args.ota))
    verification = _verify(args, payload, deadline)
    manifest = payload.manifest
    properties_status, properties_detail = verification.properties_status
    partitions = [{"name": p.name, "size": p.new_info.size, "sha256": p.new_info.sha256.hex(),
                   "incremental": p.incremental, "operations": p.operation_counts(),
                   **({"source_size": p.old_info.size, "source_sha256": p.old_info.sha256.hex()}
                      if p.old_info and p.incremental else {})} for p in manifest.partitions]
    data = {"ota": args.ota, "kind": "full" if manifest.full else "incremental",
            "minor_version": manifest.minor_version, "block_size": manifest.block_size,
            "payload_size": payload.file.size, "payload_sha256": verification.hashes.file_sha256.hex(),
            "signature": {"status": verification.signature.status, "detail": verification.signature.detail},
            "properties": {"status": properties_status, "detail": properties_detail}, "partitions": partitions}
    lines = [f"{args.ota}: {data['kind']} payload (minor version {manifest.minor_version}), "
             f"{human_bytes(payload.file.size)}, block size {manifest.block_size}",
             f"signature: {verification.signature.status} ({verification.signature.detail})",
             f"properties: {properties_status} ({properties_detail})"]
    for entry in partitions:
        counts = ", ".join(f"{name} {count}" for name, count in sorted(entry["operations"].items()))
        lines.append(f"  {entry['name']:<16} {human_bytes(entry['size']):>10}  {entry['sha256'][:16]}  {counts}")
    print(json.dumps(data, indent=2) if args.json else "\n".join(lines))
    return 1 if FAILED in (verification.signature.status, properties_status) else 0


def _extract(args) -> int:
    deadline = _Deadline(args.deadline)
    payload = read_payload(Path(args.ota))
    names = list(dict.fromkeys(args.partitions)) or [partition.name for partition in payload.manifest.partitions]
    block_size = payload.manifest.block_size
    sizes = {partition.name: partition.output_bytes(block_size) for partition in select_partitions(payload, names)}
    _verify(args, payload, deadline).require()
    before = {name: sum(list(sizes.values())[:index]) for index, name in enumerate(sizes)}
    with progress_bar("extract", detail=", ".join(names)) as bar:
        def moved(name: str, done: int, total: int) -> None:
            bar.update(before[name] + done, sum(sizes.values()))
            deadline.check(f"extracting {name}")
        written = extract(payload, names, Path(args.out), Path(args.source_dir) if args.source_dir else None,
                          progress=moved)
    sizes = {path.name: path.stat().st_size for path in written}
    if args.json:
        print(json.dumps({"out": args.out, "images": [{"path": str(path), "size": sizes[path.name]}
                                                       for path in written]}, indent=2))
    else:
        print("\n".join(f"wrote {path} ({human_bytes(sizes[path.name])}), new_partition_info hash matches"
                        for path in written))
    return 0


def _trust(args) -> int:
    certificate = trust_store(args).import_oem_certificate(Path(args.certificate))
    print(json.dumps({"key_id": certificate.key_id, "path": str(certificate.path)}, indent=2) if args.json
          else f"trusted OEM certificate {certificate.key_id} for OTA payloads ({certificate.path})")
    return 0


def _certificates(args) -> int:
    rows = [{"key_id": certificate.key_id, "path": str(certificate.path)}
            for certificate in trust_store(args).oem_certificates()]
    print(json.dumps(rows, indent=2) if args.json else
          "\n".join(f"{row['key_id']}  {row['path']}" for row in rows) or "no OEM certificate is trusted")
    return 0


def _untrust(args) -> int:
    trust_store(args).remove_oem_certificate(args.key_id)
    print(json.dumps({"removed": args.key_id}) if args.json else f"OEM certificate {args.key_id} is no longer trusted")
    return 0


_COMMANDS = {"inspect": _inspect, "extract": _extract, "trust": _trust, "certificates": _certificates,
             "untrust": _untrust}
