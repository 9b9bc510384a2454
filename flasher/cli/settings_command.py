"""`tsuf settings`: where this station keeps things, its id and its backend."""

import json

from ..settings import load_settings


def run_settings(args) -> int:
    settings = load_settings()
    if args.station is not None or args.backend is not None:
        if args.station is not None:
            settings.station_id = args.station
        if args.backend is not None:
            if args.backend:
                from ..history.backend import HttpBackend
                HttpBackend(args.backend)  # refuse a URL that could never work, now rather than later
            settings.backend_url = args.backend
        settings.save()
        settings = load_settings()  # show what is in effect: the environment may override the file
    data = settings.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:12} {value}")
    return 0
