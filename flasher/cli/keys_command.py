"""`tsuf keys`: make signing keys and manage the trust store."""

import json
from pathlib import Path

from ..package import keys
from ..package.trust import TrustStore


def trust_store(args) -> TrustStore:
    return TrustStore(Path(args.trust_store)) if args.trust_store else TrustStore.default()


def run_keys_command(args) -> int:
    return _COMMANDS[args.keys_command](args)


def _emit(args, data, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def _generate(args) -> int:
    key = keys.generate_key(args.algorithm)
    private_path, public_path = keys.write_key_pair(key, Path(args.out), args.name)
    _emit(args, {"key_id": key.key_id, "algorithm": key.algorithm, "private": str(private_path),
                 "public": str(public_path)},
          f"key {key.key_id} ({key.algorithm})\nprivate: {private_path} (keep it secret)\npublic:  {public_path}")
    return 0


def _import(args) -> int:
    store = trust_store(args)
    key = store.import_key(Path(args.pem))
    _emit(args, {"key_id": key.key_id, "algorithm": key.algorithm, "trust_store": str(store.folder)},
          f"trusted key {key.key_id} ({key.algorithm}) in {store.folder}")
    return 0


def _list(args) -> int:
    store = trust_store(args)
    trusted = store.keys()
    lines = [f"{key.key_id}  {key.algorithm}" for key in trusted] or [f"no trusted keys in {store.folder}"]
    _emit(args, [{"key_id": key.key_id, "algorithm": key.algorithm, "path": str(key.path)} for key in trusted],
          "\n".join(lines))
    return 0


def _remove(args) -> int:
    store = trust_store(args)
    store.remove(args.key_id)
    _emit(args, {"removed": args.key_id}, f"key {args.key_id} is no longer trusted")
    return 0


_COMMANDS = {"generate": _generate, "import": _import, "list": _list, "remove": _remove}
