"""`tsuf keys`: make signing keys and manage the trust store: keys, their scopes, thresholds."""

import dataclasses
import json
from pathlib import Path

from ..package import keys
from ..package.roles import EVERYTHING, ROLES
from ..package.trust import TrustedKey, TrustStore

SCOPE_OPTIONS = ("products", "kinds", "catalogs")


def trust_store(args) -> TrustStore:
    return TrustStore(Path(args.trust_store)) if args.trust_store else TrustStore.default()


def run_keys_command(args) -> int:
    return _COMMANDS[args.keys_command](args)


def _emit(args, data, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def _key_data(key: TrustedKey) -> dict:
    return {"key_id": key.key_id, "algorithm": key.algorithm, "path": str(key.path), "scope": key.scope.to_dict()}


def _scope_changes(args) -> dict:
    """The scope options given on the command line; those left out keep what the key has."""
    return {name: getattr(args, name) for name in SCOPE_OPTIONS if hasattr(args, name)}


def _generate(args) -> int:
    key = keys.generate_key(args.algorithm)
    private_path, public_path = keys.write_key_pair(key, Path(args.out), args.name)
    _emit(args, {"key_id": key.key_id, "algorithm": key.algorithm, "private": str(private_path),
                 "public": str(public_path)},
          f"key {key.key_id} ({key.algorithm})\nprivate: {private_path} (keep it secret)\npublic:  {public_path}")
    return 0


def _import(args) -> int:
    store = trust_store(args)
    changes = _scope_changes(args)
    key = store.import_key(Path(args.pem), dataclasses.replace(EVERYTHING, **changes) if changes else None)
    _emit(args, {**_key_data(key), "trust_store": str(store.folder)},
          f"trusted key {key.key_id} ({key.algorithm}) in {store.folder}\nmay sign: {key.scope.describe()}")
    return 0


def _scope(args) -> int:
    store = trust_store(args)
    key = store.set_scope(args.key_id, dataclasses.replace(store.require(args.key_id).scope, **_scope_changes(args)))
    _emit(args, _key_data(key), f"key {key.key_id} may sign: {key.scope.describe()}")
    return 0


def _threshold(args) -> int:
    store = trust_store(args)
    store.set_threshold(args.role, args.count)
    _emit(args, {"role": args.role, "threshold": args.count},
          f"a {args.role} needs signatures by {args.count} key(s) allowed to sign it")
    return 0


def _list(args) -> int:
    store = trust_store(args)
    trusted = store.keys()
    thresholds = {role: store.threshold(role) for role in ROLES}
    lines = [f"{key.key_id}  {key.algorithm}  {key.scope.describe()}" for key in trusted] \
        or [f"no trusted keys in {store.folder}"]
    lines += [f"threshold: {role} {count}" for role, count in thresholds.items() if count > 1]
    _emit(args, {"keys": [_key_data(key) for key in trusted], "thresholds": thresholds}, "\n".join(lines))
    return 0


def _remove(args) -> int:
    store = trust_store(args)
    store.remove(args.key_id)
    _emit(args, {"removed": args.key_id}, f"key {args.key_id} is no longer trusted")
    return 0


_COMMANDS = {"generate": _generate, "import": _import, "scope": _scope, "threshold": _threshold, "list": _list,
             "remove": _remove}
