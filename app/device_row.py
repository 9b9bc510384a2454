"""What the window knows about one handset, and how its figures read. No Qt here."""

from dataclasses import dataclass, field

from flasher.discovery.found import RECOVERY_MODES, mode_text
from flasher.history.report import Report
from flasher.transfer_rate import TransferRate, human_bytes, human_duration

from .battery import battery_percent

# States in which a session owns the handset, or is being readied for it: nothing else may open it.
ACTIVE_STATES = {"queued", "connecting", "checking", "writing", "verifying", "switching", "rebooting",
                 "sideloading", "installing", "confirming", "choosing", "downloading", "preparing"}
# Finished states stay on show until the handset is unplugged (station mode).
FINAL_STATES = {"done", "failed", "rolled back", "cancelled", "switched"}
# States that move bytes: their rows show speed and time left.
TRANSFER_STATES = {"writing", "sideloading", "downloading"}
# Where an attempt stopped, in the words of the state it was in.
PHASE_WORDS = {"connect": "connecting", "preflight": "checking", "write": "writing", "verify": "verifying",
               "recovery": "rebooting to recovery", "sideload": "sideloading", "install": "installing"}

LINK_NAMES = {"usb": "USB", "tcp": "TCP", "udp": "UDP", "serial": "serial"}
# What an idle row in recovery says: it cannot be checked there, and what an update does about it.
RECOVERY_NOTE = ("in recovery: not checked against the package; “Update selected” sends it to its bootloader "
                 "first, and “Reboot to bootloader” does it now")


@dataclass
class DeviceRow:
    address: str
    link: str = ""
    mode: str = ""
    serialno: str = ""
    product: str = ""
    slot: str = ""
    build: str = ""
    battery_mv: str = ""
    state: str = "idle"
    detail: str = ""
    done: int = 0
    total: int = 0
    compatible: bool | None = None
    """None: not checked (or no package); False: refused, with the reason in `compat_reason`."""
    compat_reason: str = ""
    choice: str = ""
    """Update to latest: the package chosen and why ("delta 38 MB from B120 to B130", "✓ up to date")."""
    choice_tip: str = ""
    assigned: str = ""
    """The build a rollout server (hawkBit DDI) assigns the handset; "" when none."""
    report: Report | None = None
    missed_scans: int = 0
    rate: TransferRate = field(default_factory=TransferRate)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def link_name(self) -> str:
        return LINK_NAMES.get(self.link, self.link)

    @property
    def mode_text(self) -> str:
        return mode_text(self.mode)

    @property
    def mode_note(self) -> str:
        """What the mode means for an update, when it is not the usual fastboot."""
        return RECOVERY_NOTE if self.mode in RECOVERY_MODES else ""

    def stalled_for(self, now: float | None = None) -> float | None:
        """Seconds a transfer has waited on the handset without a byte moving; None while it works."""
        return self.rate.stalled_for(now) if self.state in TRANSFER_STATES else None

    @property
    def state_text(self) -> str:
        stalled = self.stalled_for()
        if stalled is not None:
            return f"waiting for the handset ({human_duration(stalled)})"
        if self.state in ("writing", "verifying", "switching", "confirming") and self.detail:
            return f"{self.state} {self.detail}"
        return self.state

    def start_session(self) -> None:
        self.state, self.detail, self.done, self.total, self.report = "queued", "", 0, 0, None
        self.rate.clear()

    def add_progress(self, done: int, total: int, now: float | None = None) -> None:
        self.done, self.total = done, total
        self.rate.add(done, total, now)

    def speed(self, now: float | None = None) -> float:
        return self.rate.speed(now)

    def seconds_left(self, now: float | None = None) -> float | None:
        return self.rate.seconds_left(now)

    def progress_text(self, now: float | None = None) -> str:
        if self.finished:
            return self._outcome_text()
        if self.total <= 0:
            return ""
        parts = [f"{self.done * 100 // self.total}%", bytes_of(self.done, self.total)]
        if self.state in TRANSFER_STATES:
            parts += self.rate.figures(now)
        return " · ".join(parts)

    def _outcome_text(self) -> str:
        """After the end, a summary rather than a full bar: a full bar would look alike for done and failed."""
        report = self.report
        if report is None:
            return ""
        seconds = human_duration(sum(report.durations.values()))
        if report.phase in PHASE_WORDS:
            sent = f" at {bytes_of(self.done, self.total)}" if self.total else ""
            return f"stopped while {PHASE_WORDS[report.phase]}{sent}, after {seconds}"
        done = "sideloaded" if report.path == "sideload" else "written and verified"
        return f"{human_bytes(report.bytes_sent)} {done} in {seconds}"


def bytes_of(done: int, total: int) -> str:
    """'9.6 / 28.0 MiB': one unit when both share it, so the bar's text stays short."""
    done_text, total_text = human_bytes(done), human_bytes(total)
    if done_text.split()[-1] == total_text.split()[-1]:
        return f"{done_text.split()[0]} / {total_text}"
    return f"{done_text} / {total_text}"


def battery_text(millivolts: str) -> str:
    """In percent, as guided mode and phones say it; the volts stay in the tooltip."""
    return f"{battery_percent(int(millivolts))} %" if millivolts.isdigit() else millivolts


def battery_tip(millivolts: str) -> str:
    if not millivolts.isdigit():
        return "The handset does not report its battery"
    return (f"{int(millivolts) / 1000:.2f} V: about {battery_percent(int(millivolts))} % by a lithium cell's resting "
            "voltage; the package sets the minimum")
