"""The app's icons (resources/icons/*.svg), loaded once by name."""

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

ICON_FOLDER = Path(__file__).resolve().parent.parent / "resources" / "icons"

STATUS_ICON = {
    "idle": "status-idle", "queued": "status-working", "connecting": "status-working",
    "checking": "status-working", "writing": "status-working", "verifying": "status-working",
    "switching": "status-working", "rebooting": "status-working", "confirming": "status-working",
    "sideloading": "status-working", "installing": "status-working", "choosing": "status-working",
    "downloading": "status-working", "preparing": "status-working",
    "done": "status-ok", "switched": "status-ok", "failed": "status-failed",
    "rolled back": "status-warning", "cancelled": "status-cancelled",
}


@cache
def icon(name: str) -> QIcon:
    return QIcon(str(ICON_FOLDER / f"{name}.svg"))


def status_icon(state: str) -> QIcon:
    return icon(STATUS_ICON.get(state, "status-idle"))


def link_icon(link: str) -> QIcon:
    return icon(f"link-{link}") if (ICON_FOLDER / f"link-{link}.svg").exists() else QIcon()
