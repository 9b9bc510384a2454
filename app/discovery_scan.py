"""What the window polls to see handsets come and go. No Qt here.

A scan takes the addresses busy with a session or a probe. None of them is
opened (a second host would disturb the session): network handsets at those
addresses are not probed, USB ones are listed without being asked, and the
board keeps their rows whatever the scan says.
"""

from collections.abc import Callable, Sequence

from flasher.discovery.found import FoundDevice
from flasher.discovery.network_source import NetworkSource, read_targets, targets_file
from flasher.discovery.scanner import Scanner, default_sources
from flasher.discovery.usb_source import UsbSource

from .handset_tasks import found_at

Scan = Callable[[set[str]], list[FoundDevice]]


class StationScan:
    """Every link: USB, serial and the network targets named by $TSUF_TARGETS."""

    def __init__(self, targets: Sequence[str] | None = None):
        if targets is None:
            path = targets_file(None)
            targets = read_targets(path) if path else []
        self.targets = list(targets)
        self.scanner = Scanner(default_sources(self.targets))

    @property
    def problems(self):
        return self.scanner.problems

    def __call__(self, busy: set[str]) -> list[FoundDevice]:
        for source in self.scanner.sources:
            if isinstance(source, NetworkSource):
                source.targets = [target for target in self.targets if target not in busy]
            elif isinstance(source, UsbSource):
                source.busy = set(busy)
        return self.scanner.scan()


def fixed_scan(addresses: Sequence[str]) -> Scan:
    """Handsets known in advance and always present (the demo bench, tests)."""
    found = [found_at(address) for address in addresses]
    return lambda busy: list(found)
