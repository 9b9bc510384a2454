"""The guided mode's steps as blocking work on one handset, run on worker threads. No Qt here.

They compose the core's `LatestUpdate` (docs/catalog.md): Check is its plan for one
handset plus a look at the battery, Download is its `prepare` (fetch, verify, extract),
Install is one session of that Updater, followed by the full package when a delta
does not apply.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flasher.cache.store import FirmwareCache
from flasher.discovery.found import FoundDevice
from flasher.history.report import Report
from flasher.selection.choose import CATALOG
from flasher.selection.latest import HandsetPlan, LatestUpdate
from flasher.update.events import Event, Progress, StateChanged
from flasher.update.session import CancelToken, Options, Station
from flasher.update.updater import FALL_BACK_ON, Updater

from ..battery import battery_percent
from ..discovery_scan import Scan

# An update that stops for lack of power is the worst an end user can meet; a package's own
# minimum (checked again by the session) is often lower than what a phone needs to finish calmly.
MIN_BATTERY_PERCENT = 30
# Modes a session can start from: the phone on its update screen.
READY_MODES = {"fastboot", "fastbootd"}


@dataclass
class GuidedSetup:
    """What the guided window works with: where attempts are recorded, how phones are found, and
    where updates come from (a new LatestUpdate per check, so each check reads the catalog afresh)."""

    station: Station
    scan: Scan
    latest: Callable[[], LatestUpdate]
    options: Options = field(default_factory=Options)
    cache: FirmwareCache | None = None


@dataclass(frozen=True)
class Checked:
    plan: HandsetPlan
    battery_percent: int | None = None  # estimated from the voltage; None when the phone does not say
    battery_refused: bool = False  # the phone itself says its battery is too low

    @property
    def battery_low(self) -> bool:
        return self.battery_refused or (self.battery_percent is not None
                                        and self.battery_percent < MIN_BATTERY_PERCENT)


def ready_phones(found: Sequence[FoundDevice]) -> list[FoundDevice]:
    return [device for device in found if device.mode in READY_MODES]


def check(latest: LatestUpdate, address: str) -> Checked:
    """What the phone runs, the update chosen for it, and its battery; raises when it cannot be read."""
    plan, = latest.plan([address], max_parallel=1)
    if plan.identity is None:
        raise plan.problem
    if plan.choice is None:
        return Checked(plan)
    facts = plan.facts
    percent = battery_percent(facts.battery_mv) if facts.battery_mv is not None else None
    return Checked(plan, percent, facts.battery_ok is False)


def install(latest: LatestUpdate, plan: HandsetPlan, updater: Updater, setup: GuidedSetup,
            emit: Callable[[Event], None], cancel: CancelToken) -> Report:
    """One session; a delta that does not apply to this phone is followed by the full update."""
    report = updater.session(plan.address, options=setup.options, emit=emit, cancel=cancel).run()
    fallback = plan.choice.fallback
    if report.result not in FALL_BACK_ON or fallback is None:
        return report
    if fallback.origin == CATALOG:
        emit(StateChanged(plan.address, "downloading"))
    with latest.prepare(fallback, setup.station, cache=setup.cache, cancel=cancel,
                        progress=lambda _label, done, total: emit(Progress(plan.address, done, total))) as full:
        return full.session(plan.address, options=setup.options, emit=emit, cancel=cancel).run()


def is_checking(label: str) -> bool:
    """LatestUpdate's progress labels: "download ..." while fetching, "verify ..." while the images are checked."""
    return label.startswith("verify ")
