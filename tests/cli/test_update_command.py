"""`tsuf update`, `tsuf history` and `tsuf settings` as a station runs them."""

import csv
import io
import json
import os
import socket
import subprocess
import sys

import pytest

from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.packages import make_keys, make_package
from tests.support.report_server import ReportServer


@pytest.fixture
def station(tmp_path):
    class Station:
        home = tmp_path / "home"
        keys = make_keys(tmp_path)
        emulator = EmulatorProcess(tmp_path / "handsets", count=2,
                                   profile=small_profile(oem_public_key=keys.oem_public_pem))
        addresses = [address for _, address, _ in emulator.handsets]

        def tsuf(self, *args, check=True):
            env = {**os.environ, "TSUF_HOME": str(self.home), "TSUF_STATION": "bench-9"}
            env.pop("TSUF_BACKEND", None)
            result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True,
                                    text=True, timeout=120, env=env)
            assert result.returncode == 0 or not check, result.stderr
            return result

        def update(self, package, *extra, check=True):
            targets = [arg for address in self.addresses for arg in ("-s", address)]
            return self.tsuf(*targets, "update", str(package), "--trust-store", str(self.keys.trust_store.folder),
                             *extra, check=check)
    yield Station()
    Station.emulator.stop()


def test_update_two_handsets_and_read_the_history(station, tmp_path):
    result = station.update(make_package(tmp_path, station.keys))
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("VH")]
    assert [row[:4] for row in rows] == [["VH000001", "a->b", "none->B130", "success"],
                                         ["VH000002", "a->b", "none->B130", "success"]]
    reports = json.loads(station.tsuf("history", "--json").stdout)
    assert {r["device_serial"] for r in reports} == {"VH000001", "VH000002"}
    assert all(r["station_id"] == "bench-9" and r["code"] == 0 for r in reports)
    assert all(os.path.exists(r["log_path"]) for r in reports)
    table = list(csv.DictReader(io.StringIO(station.tsuf("history", "--csv", "--serial", "VH000002").stdout)))
    assert [row["result"] for row in table] == ["SUCCESS"]


def test_dry_run_plans_and_writes_nothing(station, tmp_path):
    result = station.update(make_package(tmp_path, station.keys), "--dry-run", "--json")
    reports = json.loads(result.stdout)
    assert [r["result"] for r in reports] == ["DRY_RUN", "DRY_RUN"]
    assert "boot -> boot_b" in reports[0]["message"]
    assert (station.emulator.folder / "boot_b.img").read_bytes() == bytes(2 << 20)


def test_a_dry_run_says_what_would_happen_never_that_handsets_were_updated(station, tmp_path):
    result = station.update(make_package(tmp_path, station.keys), "--dry-run")
    assert "updated" not in result.stdout
    assert "2 of 2 handset(s) ready to update (dry run: nothing was written)" in result.stdout
    assert [line.split()[3] for line in result.stdout.splitlines() if line.startswith("VH")] == ["dry_run"] * 2


def test_result_columns_are_never_cut_and_unidentified_handsets_keep_their_whole_address(station, tmp_path):
    closed = socket.create_server(("127.0.0.1", 0))
    nobody = f"tcp:127.0.0.1:{closed.getsockname()[1]}"
    closed.close()  # nothing listens there: the attempt fails before the handset is identified
    result = station.tsuf("-s", station.addresses[0], "-s", nobody, "update", str(make_package(tmp_path, station.keys)),
                          "--dry-run", "--trust-store", str(station.keys.trust_store.folder), check=False)
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.startswith(("VH", "tcp:"))}
    assert set(rows) == {"VH000001", nobody}
    assert " link_lost " in rows[nobody] and " dry_run " in rows["VH000001"]
    assert "would write 4.0 MiB: boot -> boot_b" in rows["VH000001"]  # sizes in words, not raw bytes
    history = {line.split()[2]: line for line in station.tsuf("history").stdout.splitlines()[1:]}
    assert " LINK_LOST " in history[nobody]


def test_an_untrusted_package_is_refused_and_recorded(station, tmp_path):
    stranger = make_keys(tmp_path / "stranger")
    result = station.update(make_package(tmp_path / "stranger", stranger), check=False)
    assert result.returncode == 1
    assert "import their public key" in result.stderr
    reports = json.loads(station.tsuf("history", "--json").stdout)
    assert [r["result"] for r in reports] == ["PACKAGE_UNTRUSTED", "PACKAGE_UNTRUSTED"]
    assert (station.emulator.folder / "boot_b.img").read_bytes() == bytes(2 << 20)


def test_a_package_signed_only_by_a_key_scoped_to_another_product_is_refused_before_any_write(station, tmp_path):
    station.tsuf("keys", "scope", station.keys.signing.key_id, "--products", "other_product",
                 "--trust-store", str(station.keys.trust_store.folder))
    result = station.update(make_package(tmp_path, station.keys), check=False)
    assert result.returncode == 1
    assert "does not allow to sign full packages for tsuf_zte_ab" in result.stderr
    assert f"tsuf keys scope {station.keys.signing.key_id} --products tsuf_zte_ab --kinds full" in result.stderr
    reports = json.loads(station.tsuf("history", "--json").stdout)
    assert [r["result"] for r in reports] == ["PACKAGE_UNTRUSTED", "PACKAGE_UNTRUSTED"]
    assert (station.emulator.folder / "boot_b.img").read_bytes() == bytes(2 << 20)


def test_reports_made_while_the_backend_is_down_arrive_exactly_once(station, tmp_path):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    station.tsuf("settings", "--backend", f"http://127.0.0.1:{port}/reports")
    package = make_package(tmp_path, station.keys)
    first = station.update(package)
    assert "wait for the backend" in first.stderr
    station.update(package, "--dry-run")
    with ReportServer(port) as server:
        station.tsuf("history", "--deliver")
        station.tsuf("history", "--deliver")
    assert len(server.reports) == 4
    assert server.posts == 4
    history = {r["report_id"] for r in json.loads(station.tsuf("history", "--json").stdout)}
    assert set(server.reports) == history


def test_settings_refuse_a_backend_url_that_cannot_work(station):
    result = station.tsuf("settings", "--backend", "ftp://nowhere", check=False)
    assert result.returncode == 1 and "not an http" in result.stderr
    shown = json.loads(station.tsuf("--json", "settings", "--station", "bench-3").stdout)
    assert shown["station_id"] == "bench-9"  # TSUF_STATION wins over the saved value


def test_a_station_killed_mid_update_leaves_a_report_and_the_next_run_resumes(tmp_path):
    keys = make_keys(tmp_path)
    home = tmp_path / "home"
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(oem_public_key=keys.oem_public_pem),
                               faults=("stall:flash:system=30",))
    env = {**os.environ, "TSUF_HOME": str(home), "TSUF_STATION": "bench-9"}
    command = [sys.executable, "-m", "flasher.cli.main", "-s", emulator.address, "update",
               str(make_package(tmp_path, keys)), "--trust-store", str(keys.trust_store.folder)]
    try:
        station = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        for line in station.stderr:
            if "writing system_b" in line:
                break
        station.kill()  # the station dies while the handset is writing system
        station.wait(10)
        emulator.stop()
        emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(oem_public_key=keys.oem_public_pem))
        command[4] = emulator.address
        again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stderr
    finally:
        emulator.stop()
    history = subprocess.run([sys.executable, "-m", "flasher.cli.main", "history", "--json"],
                             capture_output=True, text=True, env=env, timeout=30)
    reports = json.loads(history.stdout)
    assert [(r["result"], r["phase"]) for r in reports] == [("SUCCESS", ""), ("HOST_INTERRUPTED", "write")]
    assert reports[0]["resumed"] and reports[0]["attempt"] == 2


def test_the_readmes_emulator_with_the_oem_key_reports_the_build_tsuf_installed(tmp_path):
    """README: `tsuf emulator --oem-key oem.pub.pem`, update, then `getvar build` has a build for --latest."""
    keys = make_keys(tmp_path)
    oem_key = tmp_path / "oem.pub.pem"
    oem_key.write_text(keys.oem_public_pem)
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), oem_key=oem_key)
    env = {**os.environ, "TSUF_HOME": str(tmp_path / "home")}

    def tsuf(*args):
        return subprocess.run([sys.executable, "-m", "flasher.cli.main", "-s", emulator.address, *args],
                              capture_output=True, text=True, timeout=120, env=env)
    try:
        assert tsuf("getvar", "build").stdout.strip() == "build: none"
        updated = tsuf("update", str(make_package(tmp_path, keys)), "--trust-store", str(keys.trust_store.folder))
        assert updated.returncode == 0, updated.stderr
        assert tsuf("getvar", "build").stdout.strip() == "build: B130"
    finally:
        emulator.stop()
    refused = subprocess.run([sys.executable, "-m", "flasher.cli.main", "emulator", "--oem-key", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "nope" in refused.stderr
