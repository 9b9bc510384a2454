"""One update attempt on one handset, as the station and the backend see it."""

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .codes import Result

LOG_TAIL_LINES = 40
LOG_TAIL_CHARS = 4000


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_report_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Report:
    """Fields follow what trusted updaters report: identity, versions, outcome, timing.

    `report_id` makes delivery idempotent: a backend that sees an id twice keeps one.
    """

    report_id: str
    station_id: str
    device_serial: str
    address: str = ""
    """Where the handset was reached (`usb:...`, `tcp:...`): the link of the attempt."""
    product: str = ""
    from_build: str = ""
    to_build: str = ""
    package_id: str = ""
    package_sha256: str = ""
    package_type: str = "full"
    path: str = "fastboot-ab"
    result: str = Result.SUCCESS.name
    code: int = 0
    retryable: bool = False
    phase: str = ""
    message: str = ""
    attempt: int = 1
    resumed: bool = False
    started_at: str = ""
    ended_at: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    bytes_sent: int = 0
    from_slot: str = ""
    to_slot: str = ""
    checks: list[dict] = field(default_factory=list)
    """Every preflight check: {"check", "outcome" (passed, failed, not available), "detail"}."""
    verification: dict[str, str] = field(default_factory=dict)
    """How each written partition was verified: "read back", or why that was not available."""
    log_tail: str = ""
    log_sha256: str = ""
    log_path: str = ""

    def set_result(self, result: Result, *, phase: str = "", message: str = "") -> None:
        self.result, self.code, self.retryable = result.name, result.code, result.retryable
        self.phase, self.message = phase, message

    @property
    def succeeded(self) -> bool:
        return self.code == Result.SUCCESS.code

    @property
    def duration(self) -> float:
        """Seconds the attempt spent in its phases: what the history shows as its time."""
        return round(sum(self.durations.values()), 3)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))


def tail_of(text: str) -> str:
    """The last lines of a log, short enough for a backend message."""
    lines = text.splitlines()[-LOG_TAIL_LINES:]
    return "\n".join(lines)[-LOG_TAIL_CHARS:]
