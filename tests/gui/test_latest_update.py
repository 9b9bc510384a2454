"""'Update to latest' in the station window: each handset gets its own package, chosen from a real
signed catalog on a loopback HTTP server, downloaded once for all that need it, then written."""

from contextlib import ExitStack


from app.device_model import COLUMN
from app.discovery_scan import fixed_scan
from app.main import real_station
from app.settings_dialog import SettingsDialog
from flasher.fastboot import FastbootDevice
from flasher.settings import load_settings
from tests.support.catalog_bench import bench as bench  # the station and its catalog
from tests.support.http_server import FileServer
from tests.support.releases import releases as releases  # noqa: F401 (the session-wide publisher folder)

TIMEOUT = 60000
DELTA, FULL = "deltas/tsuf_zte_ab-B120-B130.zip", "tsuf_zte_ab-B130.zip"


def station_window(make_window, qtbot, bench, server, addresses):
    window = make_window(bench, scan=fixed_scan(addresses))
    window.board.latest = lambda: bench.latest(server)
    rows = window.board.rows
    qtbot.waitUntil(lambda: len(rows) == len(addresses) and all(r.build for r in rows.values()), timeout=TIMEOUT)
    return window


def package_text(window, address: str) -> str:
    return window.model.index(window.model.row_of(address), COLUMN["Package"]).data()


def running_build(address: str) -> str:
    with FastbootDevice.open(address) as device:
        return device.getvar("build")


def test_each_handset_gets_a_delta_or_the_full_package_and_each_is_downloaded_once(bench, make_window, qtbot):
    sources = [bench.handset("VH000001", "B120"), bench.handset("VH000002", "B120")]
    older, newest = bench.handset("VH000003", "B110"), bench.handset("VH000004", "B130")
    updated = [running.address for running in (*sources, older)]
    with FileServer(bench.published) as server:
        window = station_window(make_window, qtbot, bench, server, [*updated, newest.address])
        rows = window.board.rows
        seen = {address: set() for address in rows}
        window.board.rows_changed.connect(lambda changed: [seen[a].add(rows[a].state) for a in changed if a in rows])
        assert window.latest_all_action.isEnabled()
        window.latest_all_action.trigger()
        qtbot.waitUntil(lambda: all(rows[a].state == "done" for a in updated), timeout=TIMEOUT)
        delta_gets, full_gets = server.ranges(DELTA), server.ranges(FULL)

    for source in sources:
        assert package_text(window, source.address).startswith("delta ")
        assert package_text(window, source.address).endswith(" from B120 to B130")
    assert package_text(window, older.address).startswith("full ")
    assert package_text(window, older.address).endswith(": no delta from B110")
    assert package_text(window, newest.address) == "✓ up to date" and rows[newest.address].state == "idle"
    assert delta_gets == [None] and full_gets == [None]  # one download for both B120 handsets
    session_states = {"writing", "reading", "verifying", "switching", "rebooting", "confirming"}
    assert all({"choosing", "downloading"} <= seen[a] and seen[a] & session_states for a in updated), seen
    reports = {r.device_serial: r for r in bench.station.history.query()}
    assert {s: (reports[s].result, reports[s].package_type) for s in ("VH000001", "VH000002", "VH000003")} == \
        {"VH000001": ("SUCCESS", "delta"), "VH000002": ("SUCCESS", "delta"), "VH000003": ("SUCCESS", "full")}
    assert [running_build(a) for a in updated] == ["B130"] * 3
    assert window.board.done_count == 3 and window.board.failed_count == 0
    qtbot.waitUntil(lambda: all(rows[a].build == "B130" for a in updated), timeout=TIMEOUT)  # read again


def test_a_delta_that_does_not_apply_is_followed_by_the_full_package(bench, make_window, qtbot):
    running = bench.handset_with_changed_system("VH000001", "B120")
    with FileServer(bench.published) as server:
        window = station_window(make_window, qtbot, bench, server, [running.address])
        window.latest_all_action.trigger()
        row = window.board.rows[running.address]
        qtbot.waitUntil(lambda: row.finished, timeout=TIMEOUT)
        paths = [path for path, _ in server.requests]
    assert row.state == "done" and row.report.package_type == "full", row.detail
    assert package_text(window, running.address) == "full: the delta from B120 did not apply"
    assert paths.index("/" + DELTA) < paths.index("/" + FULL)
    assert [r.result for r in bench.station.history.query()][:2] == ["SUCCESS", "DELTA_SOURCE_MISMATCH"]
    assert window.board.done_count == 1 and window.board.failed_count == 0


def test_a_tampered_catalog_is_refused_and_no_handset_is_written(bench, make_window, qtbot):
    running = bench.handset("VH000001", "B110")
    catalog = bench.published / "catalog.json"
    catalog.write_bytes(catalog.read_bytes().replace(b'"B110"', b'"B111"'))
    before = running.partition("system_b")
    with FileServer(bench.published) as server:
        window = station_window(make_window, qtbot, bench, server, [running.address])
        window.latest_all_action.trigger()
        row = window.board.rows[running.address]
        qtbot.waitUntil(lambda: row.choice == "✗ no catalog", timeout=TIMEOUT)
    assert row.state == "idle" and "does not match" in row.choice_tip
    assert "Update to latest: " in window.statusBar().currentMessage()
    assert running.partition("system_b") == before and not window.board.busy


def test_the_catalog_url_is_a_station_setting(make_bench, make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TSUF_CATALOG", raising=False)
    bench = make_bench(1)
    window = make_window(bench)
    dialog = SettingsDialog(load_settings(), bench.keys.trust_store, window.board.station, window)
    qtbot.addWidget(dialog)
    dialog.catalog_url.setText("https://updates.example/tsuf/catalog.json")
    dialog.apply()
    assert load_settings().catalog_url == "https://updates.example/tsuf/catalog.json"
    with ExitStack() as stack:  # what a real station's "update to latest" and guided mode choose from
        assert real_station(stack).latest().catalog_location == "https://updates.example/tsuf/catalog.json"
