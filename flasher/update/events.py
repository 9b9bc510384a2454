"""What an update session tells its face (CLI, GUI) while it runs. The core never prints."""

from dataclasses import dataclass

from ..history.report import Report


@dataclass(frozen=True)
class StateChanged:
    """`state` is one of: checking, writing, verifying, switching, rebooting, confirming,
    done, failed, rolled back, cancelled, planned; `detail` says more (a partition)."""

    serialno: str
    state: str
    detail: str = ""


@dataclass(frozen=True)
class Progress:
    serialno: str
    done: int
    total: int


@dataclass(frozen=True)
class LogLine:
    serialno: str
    level: str
    text: str


@dataclass(frozen=True)
class Finished:
    report: Report


Event = StateChanged | Progress | LogLine | Finished
