"""The reference family: TSUF's own handset (a ZTE-like Qualcomm phone with a test hook).

It answers every command TSUF uses, `fetch` included, reports vendor variables no
real bootloader has (`build`, `rollback-index`, `hw-revision`, battery), and comes
back to fastboot by itself after booting. The demo and most tests use it.
"""

from ..commands import COMMANDS
from .base import DeviceCosts, Family
from .qualcomm import ABL_COSTS


class ReferenceFamily(Family):
    returns_from_os = True
    costs: DeviceCosts = ABL_COSTS
    commands = COMMANDS

    def unknown_command(self, command) -> str:
        return f"unknown command {command.name}"


def make(name: str) -> Family:
    return ReferenceFamily(name)
