"""`tsuf gui`: start the desktop app (app/), on real handsets or on the demo bench."""

import importlib
from pathlib import Path


def run_gui(args) -> int:
    # The CLI only launches the app; importlib keeps the core's import graph free of app/ and Qt.
    app_main = importlib.import_module("app.main")
    return app_main.run(demo=args.demo, guided=args.guided, package=Path(args.package) if args.package else None,
                        count=args.count, parallel=args.parallel)
