"""`tsuf update`'s live lines on a terminal (a real pseudo-terminal): whole addresses, time left, stalls."""

import os
import time

from flasher.cli.update_view import DeviceBoard
from flasher.transfer_rate import STALL_AFTER
from flasher.update.events import Progress, StateChanged

MiB = 1 << 20


def read_until(main: int, wanted: bytes, seconds: float) -> bytes:
    seen, deadline = b"", time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            seen += os.read(main, 65536)
        except BlockingIOError:
            pass
    return seen


def test_live_lines_show_whole_addresses_time_left_and_a_stall():
    main, secondary = os.openpty()
    os.set_blocking(main, False)
    address = "tcp:192.168.100.200:5554"
    with open(secondary, "w", closefd=True) as terminal:
        board = DeviceBoard(terminal)
        board.handle(StateChanged(address, "connecting"))
        board.handle(StateChanged("VH000001", "writing", "system_b"))
        for step in range(1, 5):
            board.handle(Progress("VH000001", step * MiB, 40 * MiB))
            time.sleep(0.3)
        seen = read_until(main, b"left", 10)
        assert address.encode() in seen and b" left" in seen
        board.handle(Progress("VH000001", 40 * MiB, 40 * MiB))
        seen = read_until(main, b"stalled", STALL_AFTER + 30)  # redrawn by itself while nothing moves
        assert b"stalled" in seen and b"0s left" not in seen
    os.close(main)
