"""A row's figures: speed, time left, and the words shown after the end."""

from app.device_row import DeviceRow, bytes_of
from flasher.history.report import Report
from flasher.transfer_rate import STALL_AFTER, human_bytes, human_duration
from flasher.update.android_confirmation import ALLOW_PROMPT

MiB = 1 << 20


def test_speed_and_time_left_come_from_the_last_seconds_of_progress():
    row = DeviceRow("tcp:x")
    row.state = "writing"
    assert row.speed(100.0) == 0 and row.seconds_left(100.0) is None
    for second in range(11):
        row.add_progress(second * 2 * MiB, 40 * MiB, now=100.0 + second)
    assert row.speed(110.0) == 2 * MiB
    assert row.seconds_left(110.0) == 10
    assert row.progress_text(110.0) == "50% · 20.0 / 40.0 MiB · 2.0 MiB/s · 10 s left"
    row.add_progress(39.5 * MiB, 40 * MiB, now=111.0)  # a fast finish is not "0 s left"
    assert row.progress_text(111.0).endswith("<1 s left")


def test_a_handset_that_stops_taking_bytes_reads_as_waiting_not_as_nearly_done():
    row = DeviceRow("tcp:x", state="writing", detail="system_b")
    for second in range(6):
        row.add_progress(second * 20 * MiB, 108 * MiB, now=100.0 + second)
    row.add_progress(108 * MiB, 108 * MiB, now=106.0)
    assert row.progress_text(106.0).endswith("· all sent")  # never "<1 s left" nor "0 s left" for the wait
    assert row.speed(107.0) > 0 and row.speed(110.0) == 0  # the speed decays while nothing moves
    assert row.stalled_for(106.0 + STALL_AFTER - 0.5) is None
    assert row.progress_text(126.0) == "100% · 108.0 / 108.0 MiB · stalled 20 s"
    assert row.stalled_for(126.0) == 20.0
    row.add_progress(110 * MiB, 200 * MiB, now=127.0)  # bytes move again: working
    assert row.stalled_for(127.5) is None
    row.state = "verifying"  # no transfer: no stall to tell
    assert row.stalled_for(200.0) is None


def test_after_the_end_the_row_says_what_happened_instead_of_a_full_bar():
    row = DeviceRow("tcp:x", state="done")
    row.report = Report("id", "station", "VH1", bytes_sent=28 * MiB, durations={"write": 2.0, "verify": 1.2})
    assert row.progress_text() == "28.0 MiB written and verified in 3 s"
    row.state, row.done, row.total = "cancelled", 9 * MiB, 28 * MiB
    row.report.phase = "write"
    assert row.progress_text() == "stopped while writing at 9.0 / 28.0 MiB, after 3 s"


def test_a_phone_waiting_for_its_user_says_so_in_its_row():
    row = DeviceRow("usb:VH1", state="confirming", detail=ALLOW_PROMPT)
    assert row.active and row.state_text == "confirming Allow USB debugging on the phone"


def test_a_sideload_shows_its_speed_and_where_it_stopped():
    row = DeviceRow("usb:VH1", state="sideloading")
    row.add_progress(0, 40 * MiB, now=100.0)
    row.add_progress(4 * MiB, 40 * MiB, now=101.0)
    assert row.active and row.progress_text(101.0) == "10% · 4.0 / 40.0 MiB · 4.0 MiB/s · 9 s left"
    row.state = "failed"
    row.report = Report("id", "station", "VH1", path="sideload", phase="sideload", durations={"sideload": 1.0})
    assert row.progress_text() == "stopped while sideloading at 4.0 / 40.0 MiB, after 1 s"
    row.state, row.report.phase, row.report.bytes_sent = "done", "", 40 * MiB
    assert row.progress_text() == "40.0 MiB sideloaded in 1 s"


def test_human_figures():
    assert human_bytes(512) == "512 B" and human_bytes(1536) == "1.5 KiB" and human_bytes(3 << 30) == "3.0 GiB"
    assert bytes_of(512, 2 * MiB) == "512 B / 2.0 MiB"
    assert human_duration(59) == "59 s" and human_duration(61) == "1:01" and human_duration(3661) == "1:01:01"
