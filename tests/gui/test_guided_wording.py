"""The guided mode's words: every outcome has a plain meaning and something to do, and no page speaks jargon."""

import pytest

from app.guided import wording
from app.guided.steps import MIN_BATTERY_PERCENT, battery_percent
from flasher.catalog.errors import CatalogExpired, CatalogUntrusted, DownloadFailed, DownloadHashMismatch
from flasher.errors import FlasherError
from flasher.history.codes import Result
from flasher.history.report import Report
from flasher.package.errors import ArchiveError, UntrustedPackage
from flasher.selection.choose import NoUpdateFor, OnlyForUnlocked
from flasher.transport.errors import ConnectFailed
from flasher.update.android_confirmation import ALLOW_PROMPT
from flasher.update.session import Cancelled


def every_page() -> list[wording.Page]:
    pages = [wording.waiting_for_phone(), wording.several_phones(2), wording.phone_not_ready(),
             wording.phone_found("P855A01"), wording.phone_found(None), wording.checking(),
             wording.battery_low(23, 30), wording.battery_low(None, 30),
             wording.update_found("B120", "B130", 38_000_000, on_this_computer=False, battery=80),
             wording.update_found("B120", "B130", 38_000_000, on_this_computer=True, battery=None),
             wording.up_to_date("B130"), wording.downloading(12_000_000, 38_000_000),
             wording.checking_download(1, 2), wording.ready_to_install("B130"), wording.installed("B130")]
    pages += [wording.installing(state, 5, 10) for state in wording.STATE_WORDS]
    pages += [wording.failed(wording.INSTALL, result) for result in Result]
    pages += [wording.problem(wording.DOWNLOAD, error) for error in ERRORS]
    return pages


ERRORS = [Cancelled("x"), NoUpdateFor("x"), OnlyForUnlocked("x"), DownloadFailed("x"), DownloadHashMismatch("x"), CatalogUntrusted("x"),
          CatalogExpired("x"), UntrustedPackage("x"), ArchiveError("x"), ConnectFailed("x"), FlasherError("x"),
          RuntimeError("x")]


def test_no_page_speaks_jargon():
    for page in every_page():
        for text in page.texts:
            assert not [word for word in wording.JARGON if word in text.lower()], text


def test_every_result_code_has_a_plain_meaning_and_something_to_do():
    assert set(wording.RESULT_WORDS) == set(Result)
    for result in Result:
        page = wording.failed(wording.INSTALL, result)
        assert page.body and page.instruction and page.tone == "problem" and page.button == "Try again"
        assert page.code == f"Code {result.code}"
    assert "went back to the software it had" in wording.failed(4, Result.ROLLED_BACK).body


@pytest.mark.parametrize(("error", "title"), [
    (DownloadHashMismatch("x"), "The download was damaged"),
    (DownloadFailed("x"), "The download did not finish"),
    (CatalogUntrusted("x"), "Updates could not be checked"),
    (NoUpdateFor("x"), "No update found"),
    (OnlyForUnlocked("x"), "This update is not for your phone"),
    (ConnectFailed("x"), "Your phone is not answering"),
    (Cancelled("x"), "The download was stopped"),
    (UntrustedPackage("x"), "The update cannot be used"),
    (RuntimeError("x"), "Something went wrong"),
])
def test_each_kind_of_stop_reads_as_what_happened(error, title):
    page = wording.problem(wording.DOWNLOAD, error)
    assert page.title == title and page.tone == "problem" and page.instruction


def test_the_words_for_progress():
    assert wording.downloading(38_000_000, 38_000_000).progress_text == "Downloading the update: 38 MB of 38 MB"
    assert wording.installing("writing", 45, 100).progress_text == "Copying the new software to your phone: 45 %"
    assert wording.installing("rebooting", 0, 0).progress_text == "Your phone is restarting…"
    assert "tap “Allow” when it asks to allow USB debugging" in wording.installing(ALLOW_PROMPT, 0, 0).progress_text
    assert wording.installing("downloading", 2_000_000, 40_000_000).progress_text.endswith("2 MB of 40 MB")
    assert wording.battery_low(23, MIN_BATTERY_PERCENT).body == \
        f"Your phone's battery is at about 23 %. Charge it to at least {MIN_BATTERY_PERCENT} % first."


def test_battery_percent_follows_the_voltage():
    levels = [battery_percent(mv) for mv in range(3000, 4400, 10)]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == 100
    assert battery_percent(3790) == MIN_BATTERY_PERCENT and battery_percent(3700) == 12


def test_an_update_already_on_this_computer_offers_no_download():
    here = wording.update_found("B120", "B130", 1 << 20, on_this_computer=True, battery=80)
    assert "download" not in here.button.lower() and "download" not in here.instruction.lower()
    away = wording.update_found("B120", "B130", 1 << 20, on_this_computer=False, battery=None)
    assert away.button == "Download the update"


@pytest.mark.parametrize("phase, path, kept", [
    ("connect", "fastboot-ab", True), ("preflight", "fastboot-in-place", True), ("write", "fastboot-ab", True),
    ("verify", "fastboot-ab", True), ("switch", "fastboot-ab", False), ("write", "fastboot-in-place", False),
    ("sideload", "sideload", True), ("install", "sideload", False), ("confirm", "fastboot-ab", False)])
def test_the_failure_page_says_the_phone_still_works_only_when_it_does(phase, path, kept):
    report = Report("id", "station", "VH1", path=path, phase=phase)
    assert wording.old_software_kept(report) is kept
    page = wording.failed(wording.INSTALL, Result.LINK_LOST, old_software_kept=wording.old_software_kept(report))
    assert (wording.STILL_WORKS in page.body) is kept
    rolled_back = wording.failed(wording.INSTALL, Result.ROLLED_BACK, old_software_kept=True)
    assert wording.STILL_WORKS not in rolled_back.body and "It works as it did." in rolled_back.body
