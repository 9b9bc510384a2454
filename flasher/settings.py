"""Where a station keeps its things, and what it is called.

Folders come from the platform's conventions (platformdirs: XDG on Linux,
AppData on Windows, Library on macOS); TSUF_HOME puts everything under one
folder instead (portable installs, tests). settings.json in the config folder
holds what the user sets; TSUF_STATION, TSUF_BACKEND, TSUF_HISTORY, TSUF_CATALOG, TSUF_DDI and
TSUF_DDI_TOKEN override it.

Both folders (and TSUF_HOME) are owner-only (0700), made so whenever settings are
loaded: what is inside (handset serials, logs, history, tokens) is no other local
user's business. Files TSUF makes inside are 0600 too (atomic.PRIVATE_FILE).
"""

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import PRIVATE_FILE, private_folder, write_atomically
from .errors import FlasherError

APP = "tsuf"


class SettingsError(FlasherError):
    hint = "Fix or delete settings.json in TSUF's config folder (`tsuf settings` shows where)."


@dataclass
class Settings:
    station_id: str = field(default_factory=socket.gethostname)
    backend_url: str = ""
    backend_token: str = ""
    backend_ca: str = ""
    backend_plain_http: bool = False
    battery_unknown_ok: bool = False
    """Station mode updates a handset that does not report its battery (the CLI always may: a person is there)."""
    """Send the bearer token over plain http to a host other than this machine (a lab LAN); refused unless set."""
    history_url: str = ""
    """A lab's shared PostgreSQL history (postgresql://...): reports are delivered to it, `tsuf history` reads it."""
    catalog_url: str = ""
    """The signed update catalog `tsuf update --latest` chooses from (docs/catalog.md)."""
    ddi_url: str = ""
    """A hawkBit DDI rollout server's tenant URL (https://HOST/TENANT): reports go to it, assignments come from it."""
    ddi_token: str = ""
    ddi_auth: str = "gateway"
    """How the station authenticates for its handsets: one gateway token, or a token per handset ("target")."""
    config_dir: Path = Path()
    data_dir: Path = Path()

    @property
    def trust_store(self) -> Path:
        return self.config_dir / "trust"

    @property
    def history_path(self) -> Path:
        return self.data_dir / "history.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"

    def save(self) -> None:
        private_folder(self.config_dir)
        # Owner-only from its first byte: it may hold the backend token and the database password.
        write_atomically(self.config_dir / "settings.json",
                         json.dumps({"station_id": self.station_id, "backend_url": self.backend_url,
                                     "backend_token": self.backend_token, "backend_ca": self.backend_ca,
                                     "backend_plain_http": self.backend_plain_http,
                                     "battery_unknown_ok": self.battery_unknown_ok,
                                     "history_url": self.history_url, "catalog_url": self.catalog_url,
                                     "ddi_url": self.ddi_url, "ddi_token": self.ddi_token,
                                     "ddi_auth": self.ddi_auth},
                                    indent=2).encode(), mode=PRIVATE_FILE)

    def backend(self):
        """Where the outbox delivers: the HTTP backend, the shared history, both, or None."""
        from .history.backend import EveryTarget, HttpBackend
        targets = []
        if self.backend_url:
            targets.append(HttpBackend(self.backend_url, token=self.backend_token, cafile=self.backend_ca,
                                       plain_http=self.backend_plain_http))
        if self.history_url:
            targets.append(self.shared_history())
        if self.ddi_url:
            from .history.ddi import DdiTarget
            targets.append(DdiTarget(self.ddi_server(), self.assignments()))
        if len(targets) > 1:
            return EveryTarget(targets)
        return targets[0] if targets else None

    def shared_history(self):
        """The lab's PostgreSQL history, or None; it connects only when used."""
        if not self.history_url:
            return None
        from .history.postgres import PostgresHistory
        return PostgresHistory(self.history_url)

    def ddi_server(self):
        """The rollout server (hawkBit DDI), or None."""
        if not self.ddi_url:
            return None
        from .history.ddi import DdiServer
        return DdiServer(self.ddi_url, token=self.ddi_token, auth=self.ddi_auth, cafile=self.backend_ca,
                         plain_http=self.backend_plain_http)

    def assignments(self):
        """What this station took from its rollout server (flasher/history/ddi.py)."""
        from .history.ddi import Assignments
        return Assignments(self.data_dir / "ddi.sqlite")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["backend_token"] = "(set)" if self.backend_token else ""  # never shown, never logged
        data["ddi_token"] = "(set)" if self.ddi_token else ""
        if self.history_url:
            from .history.postgres import redacted
            data["history_url"] = redacted(self.history_url)
        data.update(config_dir=str(self.config_dir), data_dir=str(self.data_dir),
                    trust_store=str(self.trust_store), history=str(self.history_path))
        return data


def load_settings() -> Settings:
    config_dir, data_dir = _folders()
    _make_home_private(config_dir, data_dir)
    settings = Settings(config_dir=config_dir, data_dir=data_dir)
    path = config_dir / "settings.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            settings.station_id = str(stored.get("station_id") or settings.station_id)
            settings.backend_url = str(stored.get("backend_url") or "")
            settings.backend_token = str(stored.get("backend_token") or "")
            settings.backend_ca = str(stored.get("backend_ca") or "")
            settings.backend_plain_http = stored.get("backend_plain_http") is True
            settings.battery_unknown_ok = stored.get("battery_unknown_ok") is True
            settings.history_url = str(stored.get("history_url") or "")
            settings.catalog_url = str(stored.get("catalog_url") or "")
            settings.ddi_url = str(stored.get("ddi_url") or "")
            settings.ddi_token = str(stored.get("ddi_token") or "")
            settings.ddi_auth = str(stored.get("ddi_auth") or "gateway")
        except (OSError, ValueError, AttributeError) as exc:
            raise SettingsError(f"{path}: unreadable settings ({exc})") from None
    settings.station_id = os.environ.get("TSUF_STATION", settings.station_id)
    settings.backend_url = os.environ.get("TSUF_BACKEND", settings.backend_url)
    settings.backend_token = os.environ.get("TSUF_BACKEND_TOKEN", settings.backend_token)
    settings.history_url = os.environ.get("TSUF_HISTORY", settings.history_url)
    settings.catalog_url = os.environ.get("TSUF_CATALOG", settings.catalog_url)
    settings.ddi_url = os.environ.get("TSUF_DDI", settings.ddi_url)
    settings.ddi_token = os.environ.get("TSUF_DDI_TOKEN", settings.ddi_token)
    return settings


def _make_home_private(config_dir: Path, data_dir: Path) -> None:
    home = os.environ.get("TSUF_HOME")
    try:
        for folder in ([Path(home)] if home else []) + [config_dir, data_dir]:
            private_folder(folder)
    except OSError as exc:
        raise SettingsError(f"cannot make TSUF's folder {exc.filename} owner-only ({exc.strerror})",
                            hint="Give TSUF a folder this user owns (TSUF_HOME), or fix the folder's owner.") from None


def _folders() -> tuple[Path, Path]:
    home = os.environ.get("TSUF_HOME")
    if home:
        return Path(home) / "config", Path(home) / "data"
    import platformdirs
    return Path(platformdirs.user_config_dir(APP)), Path(platformdirs.user_data_dir(APP))
