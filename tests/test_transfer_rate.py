"""Speed, time left and stalls, as the app's rows and the command line's bars tell them."""

import os
import time

from flasher.cli.progress import ProgressBar
from flasher.transfer_rate import STALL_AFTER, TransferRate

MiB = 1 << 20


def test_time_left_comes_from_the_recent_speed_not_the_average_since_the_start():
    rate = TransferRate()
    rate.add(0, 100 * MiB, now=0.0)
    rate.add(10 * MiB, 100 * MiB, now=20.0)  # a slow start
    for second in range(1, 5):
        rate.add(10 * MiB + second * 10 * MiB, 100 * MiB, now=20.0 + second)
    assert rate.speed(24.0) == 10 * MiB and rate.seconds_left(24.0) == 5
    assert rate.figures(24.0) == ["10.0 MiB/s", "5 s left"]


def test_every_byte_sent_while_the_handset_works_is_never_zero_seconds_left():
    rate = TransferRate()
    rate.add(0, 8 * MiB, now=0.0)
    rate.add(8 * MiB, 8 * MiB, now=1.0)
    assert rate.seconds_left(1.5) is None and rate.figures(1.5)[-1] == "all sent"
    assert rate.figures(1.0 + STALL_AFTER + 3) == [f"stalled {STALL_AFTER + 3:.0f} s"]


def test_the_speed_decays_while_nothing_moves_and_recovers_when_bytes_move_again():
    rate = TransferRate()
    for second in range(4):
        rate.add(second * MiB, 10 * MiB, now=float(second))
    assert rate.speed(3.0) == MiB
    assert 0 < rate.speed(4.5) < MiB and rate.speed(7.0) == 0
    assert rate.stalled_for(3.0 + STALL_AFTER) == STALL_AFTER
    rate.add(4 * MiB, 10 * MiB, now=20.0)
    assert rate.stalled_for(20.5) is None


def test_a_bar_on_a_terminal_says_it_stalled_without_a_new_figure(tmp_path):
    """On a real pseudo-terminal: the bar redraws by itself, so a silent handset shows as stalled."""
    main, secondary = os.openpty()
    with open(secondary, "w", closefd=True) as terminal:
        bar = ProgressBar("flash system_b", stream=terminal)
        bar.update(4 * MiB, 8 * MiB)
        bar.update(8 * MiB, 8 * MiB)
        os.set_blocking(main, False)
        seen = b""
        deadline = time.monotonic() + STALL_AFTER + 30
        while b"stalled" not in seen and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                seen += os.read(main, 65536)
            except BlockingIOError:
                pass
        bar.finish()
    os.close(main)
    assert b"stalled" in seen and b"0s left" not in seen and b" 0 s left" not in seen
