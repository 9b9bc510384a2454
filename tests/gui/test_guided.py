"""The guided mode end to end: a real virtual phone, a real signed catalog on a loopback HTTP server,
driven through its four steps as an end user would, with the mouse."""

import dataclasses
from contextlib import ExitStack

import pytest
from PySide6.QtCore import Qt

from app.discovery_scan import fixed_scan
from app.guided import wording
from app.guided.flow import GuidedFlow
from app.guided.steps import MIN_BATTERY_PERCENT, GuidedSetup
from app.guided.window import GuidedWindow
from flasher.catalog.build import build_catalog
from flasher.catalog.trusted import SeenCatalogs
from flasher.cli.main import build_parser
from flasher.fastboot import FastbootDevice
from flasher.selection.choose import size_text
from flasher.selection.latest import LatestUpdate
from flasher.update.session import Options
from tests.support.catalog_bench import bench as bench  # the station and its catalog
from tests.support.http_server import FileServer
from tests.support.locked import LockedBench
from tests.support.releases import flip_byte
from tests.support.releases import releases as releases  # noqa: F401 (the session-wide publisher folder)

TIMEOUT = 60000


@pytest.fixture
def make_guided(qtbot):
    """The real guided window; every page it showed is kept in `window.pages`."""
    windows = []

    def make(setup: GuidedSetup) -> GuidedWindow:
        flow = GuidedFlow(setup, scan_interval_ms=200)
        window = GuidedWindow(flow)
        window.pages = []
        flow.page_changed.connect(window.pages.append)
        window.confirm = lambda title, text: True
        qtbot.addWidget(window)
        window.show()
        flow.start()
        windows.append(window)
        return window
    yield make
    for window in windows:
        window.flow.cancel()
        qtbot.waitUntil(lambda: not window.flow.busy, timeout=TIMEOUT)
        window.close()


def guided_setup(bench, server, address: str) -> GuidedSetup:
    return GuidedSetup(bench.station, fixed_scan([address]), lambda: bench.latest(server),
                       options=Options(return_timeout=20))


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_for(qtbot, window, title: str, timeout: int = TIMEOUT) -> None:
    qtbot.waitUntil(lambda: window.title.text() == title, timeout=timeout)


def running_build(address: str) -> tuple[str, str]:
    with FastbootDevice.open(address) as device:
        return device.getvar("build"), device.current_slot()


def assert_plain(pages) -> None:
    for page in pages:
        for text in page.texts:
            assert not [word for word in wording.JARGON if word in text.lower()], text


def test_connect_check_download_install_then_the_phone_runs_the_new_build(bench, make_guided, qtbot):
    phone = bench.handset("VH000001", "B120")
    phone.handset.faults.stall_commands["flash:system_b"] = 0.3  # long enough to see the copy under way
    delta_size = (bench.published / "deltas" / "tsuf_zte_ab-B120-B130.zip").stat().st_size
    with FileServer(bench.published) as server:
        window = make_guided(guided_setup(bench, server, phone.address))
        assert window.steps.state_of(1) == "current" and window.steps.state_of(2) == "to come"

        wait_for(qtbot, window, "Your phone is connected")  # 1 Connect
        assert window.primary.text() == "Check for an update"
        click(qtbot, window.primary)

        wait_for(qtbot, window, "An update is available")  # 2 Check
        assert window.steps.state_of(1) == "done" and window.steps.state_of(2) == "current"
        assert window.body.text() == (f"Your phone runs B120. The newest software is B130. "
                                      f"The download is {size_text(delta_size)}.")
        assert "Battery: about " in window.instruction.text()
        assert server.requests == [("/catalog.json", None)]  # nothing downloaded before the user asks
        click(qtbot, window.primary)

        wait_for(qtbot, window, "Ready to install")  # 3 Download
        size = size_text(delta_size)
        assert f"Downloading the update: {size} of {size}" in [page.progress_text for page in window.pages]
        assert server.ranges("deltas/tsuf_zte_ab-B120-B130.zip") == [None]
        assert running_build(phone.address) == ("B120", "a")  # nothing written before Install
        click(qtbot, window.primary)

        qtbot.waitUntil(lambda: window.flow.page.step == wording.INSTALL and window.progress.isVisible(),
                        timeout=TIMEOUT)  # 4 Install
        wait_for(qtbot, window, "Your phone is updated")
    assert window.body.text() == "Your phone now runs B130."
    assert [window.steps.state_of(step) for step in (1, 2, 3, 4)] == ["done"] * 4
    installing = [page for page in window.pages if page.step == wording.INSTALL and page.tone == "busy"]
    assert installing and all(page.body == wording.INSTALLING for page in installing)
    shown = {page.progress_text for page in installing}
    assert any(text.startswith("Copying the new software to your phone: ") for text in shown), sorted(shown)
    assert "Your phone is restarting…" in shown
    assert_plain(window.pages)
    assert running_build(phone.address) == ("B130", "b")  # the phone really runs it
    assert bench.station.history.query()[0].result == "SUCCESS"

    assert not window.details.isVisible()
    click(qtbot, window.details_button)  # the technical words are there for whoever asks
    details = window.details.toPlainText()
    assert window.details.isVisible() and "delta" in details and "result: SUCCESS (code 0)" in details
    assert "writing system_b" in details


def test_a_low_battery_stops_at_check_with_what_to_do_and_nothing_is_downloaded(bench, make_guided, qtbot):
    phone = bench.handset("VH000001", "B110")
    profile = phone.handset.profile
    phone.handset.profile = dataclasses.replace(profile, battery_voltage_mv=3700)  # about 12 %
    with FileServer(bench.published) as server:
        window = make_guided(guided_setup(bench, server, phone.address))
        wait_for(qtbot, window, "Your phone is connected")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "Charge your phone first")
        assert window.body.text() == (f"Your phone's battery is at about 12 %. Charge it to at least "
                                      f"{MIN_BATTERY_PERCENT} % first.")
        assert window.steps.state_of(2) == "problem" and window.primary.text() == "Check again"
        assert [path for path, _ in server.requests] == ["/catalog.json"]

        phone.handset.profile = profile  # charged
        click(qtbot, window.primary)
        wait_for(qtbot, window, "An update is available")
    assert "no delta" not in window.body.text() and "B110" in window.body.text()
    assert_plain(window.pages)
    assert running_build(phone.address) == ("B110", "a")


def test_a_damaged_download_is_thrown_away_and_said_in_plain_words(bench, make_guided, qtbot):
    phone = bench.handset("VH000001", "B110")
    flip_byte(bench.published / bench.releases.full["B130"].name, 5000)
    before = phone.partition("system_b")
    with FileServer(bench.published) as server:
        window = make_guided(guided_setup(bench, server, phone.address))
        wait_for(qtbot, window, "Your phone is connected")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "An update is available")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "The download was damaged")
    assert window.body.text() == ("The update was damaged on the way, so it was thrown away. "
                                  "Nothing was changed on your phone.")
    assert window.steps.state_of(3) == "problem" and window.primary.text() == "Try again"
    assert_plain(window.pages)
    assert phone.partition("system_b") == before and running_build(phone.address) == ("B110", "a")
    assert list((bench.root / "downloads").iterdir()) == []
    click(qtbot, window.details_button)
    assert "DownloadHashMismatch" in window.details.toPlainText()


def test_a_failed_install_says_the_phone_still_works_and_try_again_leaves_the_details_alone(bench, make_guided,
                                                                                               qtbot):
    phone = bench.handset("VH000001", "B120")
    phone.handset.faults.discard_flash.add("system_b")  # the copy does not arrive: VERIFY_FAILED, slot a kept
    with FileServer(bench.published) as server:
        window = make_guided(guided_setup(bench, server, phone.address))
        wait_for(qtbot, window, "Your phone is connected")
        assert window.body.text() == "Found your phone (model tsuf_zte_ab)."
        click(qtbot, window.primary)
        wait_for(qtbot, window, "An update is available")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "Ready to install")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "Your phone was not updated")
        assert wording.STILL_WORKS in window.body.text() or "keeps the software it had" in window.body.text()
        click(qtbot, window.details_button)
        before = window.details.toPlainText()
        assert "result: VERIFY_FAILED" in before
        click(qtbot, window.primary)  # Try again
        wait_for(qtbot, window, "Your phone is connected")
        qtbot.wait(800)  # a few refreshes of the open details
        assert window.details.toPlainText().startswith(before)  # lines added after it, none taken away
    assert running_build(phone.address) == ("B120", "a")
    assert_plain(window.pages)


@pytest.mark.parametrize("link", ["usb", "tcp"])
def test_a_locked_phone_is_updated_through_its_own_recovery(link, tmp_path, make_guided, qtbot):
    locked = LockedBench(tmp_path, link)
    try:
        published = tmp_path / "published"
        published.mkdir()
        ota = locked.ota()
        build_catalog([ota.rename(published / ota.name)], [locked.keys.signing], published / "catalog.json",
                      trust_store=locked.keys.trust_store)
        with FileServer(published) as server:
            latest = lambda: LatestUpdate(locked.keys.trust_store, catalog=server.url("catalog.json"),  # noqa: E731
                                          downloads=tmp_path / "downloads", seen=SeenCatalogs(tmp_path / "seen"))
            window = make_guided(GuidedSetup(locked.station, fixed_scan([locked.address]), latest,
                                             options=Options(return_timeout=20)))
            wait_for(qtbot, window, "Your phone is connected")
            click(qtbot, window.primary)
            wait_for(qtbot, window, "An update is available")
            click(qtbot, window.primary)
            wait_for(qtbot, window, "Ready to install")
            click(qtbot, window.primary)
            wait_for(qtbot, window, "Your phone is updated")
        assert window.body.text() == "Your phone now runs B130." and locked.var("build") == "B130"
        shown = {page.progress_text for page in window.pages if page.step == wording.INSTALL}
        assert {"Sending the new software to your phone…", "Your phone is installing the new software…"} <= shown
        assert_plain(window.pages)
    finally:
        locked.stop()


def test_two_phones_are_one_too_many(bench, make_guided, qtbot):
    first, second = bench.handset("VH000001", "B120"), bench.handset("VH000002", "B120")
    setup = GuidedSetup(bench.station, fixed_scan([first.address, second.address]), lambda: bench.latest())
    window = make_guided(setup)
    wait_for(qtbot, window, "More than one phone is connected")
    assert window.instruction.text() == "Unplug every phone except the one you want to update."
    assert not window.primary.isVisible()


def test_the_station_window_hands_over_to_guided_mode_and_back(bench, make_window, qtbot):
    phone = bench.handset("VH000001", "B130")
    scan = fixed_scan([phone.address])
    with FileServer(bench.published) as server:
        window = make_window(bench, scan=scan, guided=lambda: guided_setup(bench, server, phone.address))
        qtbot.waitUntil(lambda: window.guided_action.isEnabled(), timeout=TIMEOUT)
        window.guided_action.trigger()
        qtbot.waitUntil(lambda: window.guided_window is not None and window.guided_window.isVisible(),
                        timeout=TIMEOUT)
        guided = window.guided_window
        assert not window.isVisible() and window.board.paused
        wait_for(qtbot, guided, "Your phone is connected")
        click(qtbot, guided.primary)
        wait_for(qtbot, guided, "Your phone is up to date")
        assert guided.body.text() == "Your phone already runs the newest software (B130). There is nothing to install."
        click(qtbot, guided.primary)  # Done
        qtbot.waitUntil(lambda: window.isVisible(), timeout=TIMEOUT)
        assert window.guided_window is None and not window.board.paused

        window.guided_action.trigger()  # Ctrl-C or SIGTERM with the guided window open closes both
        qtbot.waitUntil(lambda: window.guided_window is not None, timeout=TIMEOUT)
        window.stop_and_close()
        qtbot.waitUntil(lambda: not window.isVisible() and window.guided_window is None, timeout=TIMEOUT)


def test_the_gui_command_takes_guided():
    args = build_parser().parse_args(["gui", "--demo", "--guided"])
    assert (args.demo, args.guided) == (True, True)


def test_the_guided_demo_updates_its_virtual_phone_over_usb(qtbot):
    from app.main import open_guided
    with ExitStack() as stack:
        window = open_guided(stack, demo=True)
        qtbot.addWidget(window)
        assert "demo" in window.windowTitle()
        wait_for(qtbot, window, "Your phone is connected")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "An update is available")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "Ready to install")
        click(qtbot, window.primary)
        wait_for(qtbot, window, "Your phone is updated", timeout=120000)
        assert window.body.text() == "Your phone now runs B130."
        click(qtbot, window.primary)  # Done closes it
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
