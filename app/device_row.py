"""What the window knows about one handset, and how its figures read. No Qt here."""

import time
from collections import deque
from dataclasses import dataclass, field

from flasher.discovery.found import RECOVERY_MODES, mode_text
from flasher.history.report import Report

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
# How many seconds of progress samples the speed is averaged over.
SPEED_WINDOW = 3.0

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
    samples: deque = field(default_factory=lambda: deque(maxlen=64))

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

    @property
    def state_text(self) -> str:
        if self.state in ("writing", "verifying", "switching", "confirming") and self.detail:
            return f"{self.state} {self.detail}"
        return self.state

    def start_session(self) -> None:
        self.state, self.detail, self.done, self.total, self.report = "queued", "", 0, 0, None
        self.samples.clear()

    def add_progress(self, done: int, total: int, now: float | None = None) -> None:
        self.done, self.total = done, total
        self.samples.append((time.monotonic() if now is None else now, done))

    def speed(self) -> float:
        """Bytes per second over the last few seconds of samples; 0 until there are two."""
        if len(self.samples) < 2:
            return 0.0
        latest_time, latest_done = self.samples[-1]
        first_time, first_done = next(((t, d) for t, d in self.samples if latest_time - t <= SPEED_WINDOW),
                                      self.samples[0])
        if latest_time <= first_time:
            first_time, first_done = self.samples[0]
        elapsed = latest_time - first_time
        return (latest_done - first_done) / elapsed if elapsed > 0 else 0.0

    def seconds_left(self) -> float | None:
        speed = self.speed()
        if speed <= 0 or self.total <= 0:
            return None
        return max(0.0, (self.total - self.done) / speed)

    def progress_text(self) -> str:
        if self.finished:
            return self._outcome_text()
        if self.total <= 0:
            return ""
        parts = [f"{self.done * 100 // self.total}%", bytes_of(self.done, self.total)]
        if self.state in TRANSFER_STATES:
            speed, left = self.speed(), self.seconds_left()
            if speed > 0:
                parts.append(f"{human_bytes(speed)}/s")
            if left is not None:
                parts.append("<1 s left" if left < 0.5 else f"{human_duration(left)} left")
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


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def bytes_of(done: int, total: int) -> str:
    """'9.6 / 28.0 MiB': one unit when both share it, so the bar's text stays short."""
    done_text, total_text = human_bytes(done), human_bytes(total)
    if done_text.split()[-1] == total_text.split()[-1]:
        return f"{done_text.split()[0]} / {total_text}"
    return f"{done_text} / {total_text}"


def human_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def battery_text(millivolts: str) -> str:
    return f"{int(millivolts) / 1000:.2f} V" if millivolts.isdigit() else millivolts
