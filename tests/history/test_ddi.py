"""A station against a real rollout server (goosebit, speaking hawkBit's DDI API), started by the
tests as its own process: the server assigns builds, the station carries them out only if they
pass TSUF's own checks, and every attempt's feedback reaches the server exactly once, also
when the server was down while the handsets were updated."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from flasher.catalog.errors import DownloadHashMismatch
from flasher.history.backend import deliver_due
from flasher.history.ddi import Assignments, DdiServer, DdiTarget, controller_id
from flasher.history.store import HistoryStore
from flasher.selection.assigned import AssignedUpdate
from tests.support.goosebit import GoosebitServer, make_swu
from tests.support.handsets import RunningHandset, small_profile
from tests.support.packages import PRODUCT, make_keys, make_package
from tests.support.stations import bench_station

SMALL = {"boot": 256 << 10, "system": 1 << 20}


@pytest.fixture
def goosebit():
    server = GoosebitServer()
    yield server
    server.close()


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "lab")


def handsets(tmp_path, keys, revisions: list[str]) -> list[RunningHandset]:
    return [RunningHandset(tmp_path / f"handset-{number}", small_profile(
        f"VH{number:06d}", oem_public_key=keys.oem_public_pem, hw_revision=revision))
        for number, revision in enumerate(revisions, start=1)]


def test_station_mode_carries_out_a_rollout_and_refuses_what_tsuf_would_refuse(tmp_path, goosebit, keys):
    # Two handsets get a signed build; a third (another hardware revision) a package signed by a
    # stranger; a fourth a trusted package for another product. The server pushes all four.
    running = handsets(tmp_path, keys, ["10000", "10000", "20000", "30000"])
    stranger = make_keys(tmp_path / "stranger")
    good = make_package(tmp_path / "good", keys, build="2.0.0", sizes=SMALL)
    untrusted = make_package(tmp_path / "bad", stranger, build="2.0.0", sizes=SMALL, hw_revisions=("20000",))
    foreign = make_package(tmp_path / "foreign", keys, build="2.0.0", sizes=SMALL, product="other_phone",
                           hw_revisions=("30000",))
    for package, revision in ((good, "10000"), (untrusted, "20000"), (foreign, "30000")):
        goosebit.rollout(goosebit.upload(make_swu(package.parent, package, version="2.0.0", product=PRODUCT,
                                                  hw_revision=revision)))
    untouched = {stem: running[2].partition(stem) for stem in ("boot_b", "system_b")}

    home = tmp_path / "station"
    token = tmp_path / "token"
    token.write_text("lab-secret\n")
    shown = tsuf(home, "settings", "--ddi", goosebit.url, "--ddi-token-file", str(token), "--ddi-auth", "target")
    assert "lab-secret" not in shown.stdout and "(set)" in shown.stdout
    targets = tmp_path / "targets"
    targets.write_text("\n".join(handset.address for handset in running))
    # Station mode: the handsets in reach are found, polled and updated with no step per handset.
    station = subprocess.Popen([sys.executable, "-m", "flasher.cli.main", "ddi", "poll", "--every", "1",
                                "--targets", str(targets), "--trust-store", str(keys.trust_store.folder)],
                               env=station_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not all(goosebit.device(f"VH00000{n}")["last_state"] in ("Finished", "Error") for n in range(1, 5)):
            assert time.monotonic() < deadline and station.poll() is None, station.stderr.read()
            time.sleep(0.5)
    finally:
        station.send_signal(signal.SIGINT)
        said = station.communicate(timeout=60)[1]
    assert station.returncode == 130, said
    assert "assigned by server: 2.0.0" in said

    for serial in ("VH000001", "VH000002"):
        device = goosebit.device(serial)
        assert device["last_state"] == "Finished" and device["sw_version"] == "2.0.0"
        assert device["hardware"] == {"model": PRODUCT, "revision": "10000", **_id(device["hardware"])}
        log = goosebit.device_log(serial)
        assert "TSUF SUCCESS (code 0)" in log and "report " in log
        assert device["auth_token"] == DdiServer(goosebit.url, token="lab-secret", auth="target").target_token(serial)
    refused = goosebit.device("VH000003")
    assert refused["last_state"] == "Error"
    reason = goosebit.device_log("VH000003")
    assert "TSUF PACKAGE_UNTRUSTED (code 100)" in reason and "package: " in reason and "trust" in reason
    assert {stem: running[2].partition(stem) for stem in untouched} == untouched  # nothing written
    assert goosebit.device("VH000004")["last_state"] == "Error"
    assert "TSUF INCOMPATIBLE_PRODUCT (code 110)" in goosebit.device_log("VH000004")
    counts = sorted((rollout["success_count"], rollout["failure_count"]) for rollout in goosebit.rollouts())
    assert counts == [(0, 1), (0, 1), (2, 0)]

    again = tsuf(home, *[arg for handset in running[:2] for arg in ("-s", handset.address)], "ddi", "poll",
                 "--trust-store", str(keys.trust_store.folder))
    assert again.stderr.count("nothing assigned (2.0.0)") == 2  # the server is satisfied: no second update
    for handset in running:
        handset.stop()


def test_feedback_arrives_exactly_once_after_the_server_was_down_for_20_updates(tmp_path, goosebit, keys):
    running = handsets(tmp_path, keys, ["10000"] * 20)
    package = make_package(tmp_path / "good", keys, build="2.0.0", sizes=SMALL)
    goosebit.rollout(goosebit.upload(make_swu(package.parent, package, version="2.0.0", product=PRODUCT,
                                              hw_revision="10000")))
    station = bench_station(tmp_path / "station")
    server = DdiServer(goosebit.url, token="lab-secret", auth="target")
    assigned = AssignedUpdate(server, Assignments(tmp_path / "station" / "ddi.sqlite"), keys.trust_store,
                              downloads=tmp_path / "downloads")
    plans = assigned.plan([handset.address for handset in running])
    for _ in range(3):  # a poll goosebit failed under load is asked again, as the station's next round does
        again = [plan.address for plan in plans if not plan.deployment]
        if not again:
            break
        retried = dict(zip(again, assigned.plan(again)))
        plans = [retried.get(plan.address, plan) for plan in plans]
    assert all(plan.deployment and plan.deployment.version == "2.0.0" for plan in plans), \
        [str(plan.problem) for plan in plans if not plan.deployment]

    stopped = threading.Event()

    def stop_server_once_writing_starts(event):  # every package is fetched before any handset is written
        if not stopped.is_set():
            stopped.set()
            goosebit.stop()
    reports = assigned.run(plans, station, emit=stop_server_once_writing_starts)
    assert [report.result for report in reports] == ["SUCCESS"] * 20
    assert station.history.pending_count() == 20
    target = DdiTarget(server, Assignments(tmp_path / "station" / "ddi.sqlite"))
    assert deliver_due(station.history, target, ignore_backoff=True).failed == 1  # down: all wait
    assert station.history.pending_count() == 20

    goosebit.start()
    rounds = []

    def deliverer():  # three deliverers at once, each with its own connections, as three processes have
        store = HistoryStore(tmp_path / "station" / "history.sqlite")
        rounds.append(deliver_due(store, DdiTarget(server, Assignments(tmp_path / "station" / "ddi.sqlite")),
                                  ignore_backoff=True))
    threads = [threading.Thread(target=deliverer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(outcome.delivered for outcome in rounds) == 20 and station.history.pending_count() == 0
    for report in reports:
        log = goosebit.device_log(controller_id(report.device_serial))
        assert log.count(f"report {report.report_id}") == 1
        assert goosebit.device(report.device_serial)["last_state"] == "Finished"
    # (goosebit's per-rollout counters are a read-modify-write, so feedback from three deliverers at
    # once can undercount them; each device's own state and log are exact.)
    assert deliver_due(station.history, target, ignore_backoff=True).delivered == 0
    for handset in running:
        handset.stop()


def _id(hardware: dict) -> dict:
    return {key: value for key, value in hardware.items() if key not in ("model", "revision")}


def station_env(home) -> dict:
    env = {**os.environ, "TSUF_HOME": str(home)}
    for name in ("TSUF_BACKEND", "TSUF_HISTORY", "TSUF_DDI", "TSUF_DDI_TOKEN", "TSUF_TARGETS", "TSUF_DEVICE"):
        env.pop(name, None)
    return env


def tsuf(home, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                            timeout=300, env=station_env(home))
    assert result.returncode == 0 or not check, result.stderr
    return result


def test_an_assigned_download_resumes_and_is_checked_against_the_servers_hash(tmp_path, goosebit, keys):
    [handset] = handsets(tmp_path, keys, ["10000"])
    package = make_package(tmp_path / "good", keys, build="2.0.0", sizes=SMALL)
    swu = make_swu(package.parent, package, version="2.0.0", product=PRODUCT, hw_revision="10000")
    goosebit.rollout(goosebit.upload(swu))
    assigned = AssignedUpdate(DdiServer(goosebit.url), Assignments(tmp_path / "ddi.sqlite"), keys.trust_store,
                              downloads=tmp_path / "downloads")
    [plan] = assigned.plan([handset.address])
    artifact = plan.deployment.artifact
    assert (artifact.algorithm, artifact.size) == ("sha1", swu.stat().st_size)
    whole = swu.read_bytes()
    partial = tmp_path / "downloads" / f"sha1-{artifact.digest}.partial"
    partial.parent.mkdir()

    partial.write_bytes(bytes(len(whole) // 2))  # a cut transfer whose first half went bad on disk
    with pytest.raises(DownloadHashMismatch):
        assigned.fetch(plan)  # the server sent only the second half (Range), and the whole is wrong
    assert not partial.exists()
    partial.write_bytes(whole[:len(whole) // 2])  # a cut transfer: the rest is fetched, and it checks out
    assert assigned.fetch(plan).read_bytes() == whole
    handset.stop()
