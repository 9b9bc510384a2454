"""The live board of `tsuf update` on a terminal: a detail with no progress bar after it is shown whole."""

import io

from flasher.cli.update_view import DeviceBoard
from flasher.update.android_confirmation import ALLOW_PROMPT
from flasher.update.events import StateChanged


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_prompt_to_allow_usb_debugging_is_shown_whole_on_a_terminal():
    screen = Terminal()
    DeviceBoard(screen).handle(StateChanged("VH000001", "confirming", ALLOW_PROMPT))
    assert f"confirming  {ALLOW_PROMPT}" in screen.getvalue()
