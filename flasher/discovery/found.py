"""What discovery reports about one handset it can see."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FoundDevice:
    """One handset on one link.

    `address` opens it (`usb:SERIAL`, `tcp:HOST:PORT`, `udp:...`, `serial:PATH`).
    `mode` is what it is doing: `fastboot` (bootloader), `fastbootd`, `download`
    (serial link layer), `at` (modem port), `recovery`, or `unknown`.
    `serialno` is its identity across links and reboots; None when the link
    cannot tell (an unanswered AT port).
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
