"""`tsuf cache`: list, fill and prune the local firmware cache."""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from ..cache.store import CacheError, default_cache
from .progress import human_bytes

_SIZE = re.compile(r"(\d+)\s*([KMGT]?)(?:i?B)?\Z", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes from `1048576`, `500M`, `8G` or `8GiB` (binary units)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise CacheError(f"{text!r} is not a size", "Give a size such as 8G, 500M or 1048576.")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def run_cache_command(args) -> int:
    return _COMMANDS[args.cache_command](args)


def _list(args) -> int:
    cache = default_cache()
    entries = cache.entries()
    if args.json:
        print(json.dumps({"folder": str(cache.root), "max_size": cache.max_size,
                          "entries": [{"sha256": e.sha256, "size": e.size, "last_used": _when(e.last_used_ns)}
                                      for e in entries]}, indent=2))
        return 0
    print(f"{cache.root}: {len(entries)} entries, {human_bytes(sum(e.size for e in entries))} "
          f"of {human_bytes(cache.max_size)}")
    for entry in entries:
        print(f"  {entry.sha256}  {human_bytes(entry.size):>10}  last used {_when(entry.last_used_ns)}")
    return 0


def _add(args) -> int:
    print(default_cache().add(Path(args.file)))
    return 0


def _prune(args) -> int:
    cache = default_cache()
    evicted = cache.prune(parse_size(args.max_size) if args.max_size else None)
    print(f"evicted {len(evicted)} entries ({human_bytes(sum(e.size for e in evicted))}); "
          f"{human_bytes(cache.total_size)} left")
    return 0


def _when(stamp_ns: int) -> str:
    return datetime.fromtimestamp(stamp_ns / 1e9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_COMMANDS = {"list": _list, "add": _add, "prune": _prune}
