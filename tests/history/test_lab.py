"""A lab: two stations (two `tsuf` processes, each with its own local history) report into one real
PostgreSQL, which is stopped and restarted between their runs. Every report arrives exactly once, and the
lab summary's numbers are the reports' own."""

import json
import os
import statistics
import subprocess
import sys

import pytest

from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.packages import make_keys, make_package


class Station:
    def __init__(self, home, station_id: str, trust_store):
        self.home, self.station_id, self.trust_store = home, station_id, trust_store

    def tsuf(self, *args, check=True):
        env = {**os.environ, "TSUF_HOME": str(self.home), "TSUF_STATION": self.station_id}
        for name in ("TSUF_BACKEND", "TSUF_HISTORY", "PGPASSWORD"):
            env.pop(name, None)
        result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                                timeout=180, env=env)
        assert result.returncode == 0 or not check, result.stderr
        return result

    def update(self, addresses, package, check=True):
        targets = [arg for address in addresses for arg in ("-s", address)]
        return self.tsuf(*targets, "update", str(package), "--trust-store", str(self.trust_store), check=check)

    def local_reports(self) -> list[dict]:
        return json.loads(self.tsuf("history", "--local", "--json").stdout)


@pytest.fixture
def lab(tmp_path):
    keys = make_keys(tmp_path)
    profile = small_profile(oem_public_key=keys.oem_public_pem)
    emulators = [EmulatorProcess(tmp_path / "handsets-a", count=2, profile=profile),
                 EmulatorProcess(tmp_path / "handsets-b", profile=profile, faults=("discard:system_b",))]
    stranger = make_keys(tmp_path / "stranger")
    yield {"a": Station(tmp_path / "a", "lab-a", keys.trust_store.folder),
           "b": Station(tmp_path / "b", "lab-b", keys.trust_store.folder),
           "lead": Station(tmp_path / "lead", "lead-desk", keys.trust_store.folder),
           "handsets-a": [address for _, address, _ in emulators[0].handsets],
           "handsets-b": [address for _, address, _ in emulators[1].handsets],
           "package": make_package(tmp_path, keys),
           "untrusted": make_package(tmp_path / "stranger", stranger)}
    for emulator in emulators:
        emulator.stop()


def test_two_stations_report_into_one_database_across_a_restart(lab, own_postgres):
    a, b, lead = lab["a"], lab["b"], lab["lead"]
    url = own_postgres.url()
    for station in (a, b):
        shown = station.tsuf("settings", "--history", url).stdout
        assert own_postgres.password not in shown and "tsuf:***@127.0.0.1" in shown

    a.update(lab["handsets-a"], lab["package"])  # delivered as the run ends
    own_postgres.stop()
    failed = b.update(lab["handsets-b"], lab["package"], check=False)
    assert failed.returncode == 1 and "wait for the backend" in failed.stderr
    b.update(lab["handsets-b"], lab["untrusted"], check=False)
    a.update(lab["handsets-a"], lab["untrusted"], check=False)
    unreachable = a.tsuf("history", check=False)
    assert unreachable.returncode == 1 and "cannot reach the shared history" in unreachable.stderr
    assert "--local" in unreachable.stderr and own_postgres.password not in unreachable.stderr
    own_postgres.start()

    delivering = [subprocess.Popen([sys.executable, "-m", "flasher.cli.main", "history", "--deliver"],
                                   env={**os.environ, "TSUF_HOME": str(station.home)}, stderr=subprocess.PIPE,
                                   text=True) for station in (a, b)]
    said = [process.communicate(timeout=60)[1] for process in delivering]
    assert [process.returncode for process in delivering] == [0, 0], said
    assert "2 report(s) delivered, 0 waiting" in said[0] and "2 report(s) delivered, 0 waiting" in said[1]
    assert "0 report(s) delivered, 0 waiting" in a.tsuf("history", "--deliver").stderr

    local = a.local_reports() + b.local_reports()
    assert len(local) == 6
    shared = json.loads(lead.tsuf("history", "--history", url, "--json").stdout)
    assert sorted(r["report_id"] for r in shared) == sorted(r["report_id"] for r in local)
    assert {r["report_id"]: r for r in shared} == {r["report_id"]: r for r in local}
    only_b = json.loads(lead.tsuf("history", "--history", url, "--json", "--station", "lab-b").stdout)
    assert sorted(r["result"] for r in only_b) == ["PACKAGE_UNTRUSTED", "VERIFY_FAILED"]

    summary = json.loads(lead.tsuf("history", "--history", url, "--summary", "--json").stdout)
    assert summary["history"] == f"postgresql://tsuf:***@127.0.0.1:{own_postgres.port}/postgres"
    assert summary["total"] == _figures("all", local)
    assert summary["by_station"] == [_figures("lab-a", [r for r in local if r["station_id"] == "lab-a"]),
                                     _figures("lab-b", [r for r in local if r["station_id"] == "lab-b"])]
    assert summary["top_failures"] == [{"code": 100, "result": "PACKAGE_UNTRUSTED", "count": 3},
                                       {"code": 301, "result": "VERIFY_FAILED", "count": 1}]
    table = lead.tsuf("history", "--history", url, "--summary").stdout
    assert "6 attempt(s) on 2 station(s), 33.3% succeeded" in table and "PACKAGE_UNTRUSTED" in table


def _figures(key: str, reports: list[dict]):
    """The summary's figures, worked out here from the reports themselves."""
    succeeded = [r for r in reports if r["result"] == "SUCCESS"]
    seconds = sum(sum(r["durations"].values()) for r in reports)
    sent = sum(r["bytes_sent"] for r in reports)
    return pytest.approx({"key": key, "attempts": len(reports), "succeeded": len(succeeded),
                          "success_rate": len(succeeded) / len(reports),
                          "median_duration": statistics.median(sum(r["durations"].values()) for r in succeeded)
                          if succeeded else None,
                          "bytes_sent": sent, "duration": seconds, "throughput": sent / seconds})
