"""`tsuf settings`: where this station keeps things, its id, its backend, the lab's shared history and
its rollout server."""

import json

from pathlib import Path

from ..settings import SettingsError, load_settings


def run_settings(args) -> int:
    settings = load_settings()
    changes = {"station_id": args.station, "backend_url": args.backend,
               "backend_token": _token(args.backend_token_file), "backend_ca": args.backend_ca,
               "backend_plain_http": None if args.backend_plain_http is None else args.backend_plain_http == "allow",
               "battery_unknown_ok": None if args.battery_unknown is None else args.battery_unknown == "allow",
               "history_url": args.history, "catalog_url": args.catalog, "ddi_url": args.ddi,
               "ddi_token": _token(args.ddi_token_file), "ddi_auth": args.ddi_auth}
    changes = {key: value for key, value in changes.items() if value is not None}
    if changes:
        for key, value in changes.items():
            setattr(settings, key, value)
        settings.backend()  # refuse a URL or CA file that could never work, now rather than later
        settings.save()
        settings = load_settings()  # show what is in effect: the environment may override the file
    data = settings.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:12} {value}")
    return 0


def _token(path: str | None) -> str | None:
    """Read from a file so the token never appears in shell history or `ps`."""
    if path is None:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the token ({exc.strerror})",
                            hint="Give a readable file holding only the token.") from None
