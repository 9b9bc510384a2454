"""What discovery reports about one handset it can see."""

from dataclasses import dataclass

RECOVERY_MODES = ("recovery", "sideload")

PROBE_TIMEOUT = 1.0
"""Seconds for a probe's connect and for each answer: listings must stay quick."""
"""Recovery, answering ADB instead of fastboot; `sideload` is waiting for a package."""

MODE_TEXT = {"recovery": "recovery (ADB)", "sideload": "recovery (ADB sideload)"}
"""How listings name a mode, where the bare word would not say what the handset speaks."""


def mode_text(mode: str) -> str:
    return MODE_TEXT.get(mode, mode)


@dataclass(frozen=True)
class FoundDevice:
    """One handset on one link.

    `address` opens it (`usb:SERIAL`, `tcp:HOST:PORT`, `udp:...`, `serial:PATH`); a network
    handset in recovery keeps its fastboot address, whose port + 1 answers ADB.
    `mode` is what it is doing: `fastboot` (bootloader), `fastbootd`, `download`
    (serial link layer), `at` (modem port), `recovery` or `sideload` (recovery's ADB),
    or `unknown`.
    `serialno` is its identity across links and reboots; None when the link
    cannot tell (an unanswered AT port, a network handset first seen in recovery).
    """

    address: str
    link: str
    mode: str
    serialno: str | None = None
    product: str | None = None
    vendor: str | None = None
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """Identity for arrival/departure: the same handset on the same address."""
        return (self.address, self.serialno or "")

    @property
    def mode_text(self) -> str:
        return mode_text(self.mode)
