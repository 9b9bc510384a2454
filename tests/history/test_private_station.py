"""A station's home is owner-only: serials, logs, history and tokens are no other local user's business;
and the backend token never crosses a network in clear text unless the lab says so."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from flasher.history.backend import HttpBackend, PlainHttpToken
from flasher.history.store import HistoryStore
from flasher.settings import load_settings
from tests.history.test_store import _report
from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.packages import make_keys, make_package
from tests.support.report_server import ReportServer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _reachable_by_others(path: Path, home: Path) -> bool:
    """Another user can open `path` only if every folder from the home down lets them through."""
    folders = [home, *reversed([p for p in path.parents if p.is_relative_to(home) and p != home])]
    return all(_mode(folder) & 0o011 for folder in folders) and bool(_mode(path) & 0o044)


def _tsuf(home: Path, *args, umask: int = 0o022):
    env = {name: value for name, value in os.environ.items()
           if name not in ("TSUF_BACKEND", "TSUF_BACKEND_TOKEN", "TSUF_HISTORY")}
    env.update(TSUF_HOME=str(home), TSUF_STATION="bench-5")
    return subprocess.run([sys.executable, "-m", "flasher.cli.main", *args], capture_output=True, text=True,
                          timeout=180, env=env, umask=umask)


def test_an_update_leaves_nothing_another_user_can_read_even_with_an_open_umask(tmp_path):
    home = tmp_path / "home"
    keys = make_keys(tmp_path)
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(oem_public_key=keys.oem_public_pem))
    try:
        address = emulator.handsets[0][1]
        with ReportServer() as server:
            assert _tsuf(home, "settings", "--backend", server.url, umask=0).returncode == 0
            done = _tsuf(home, "-s", address, "update", str(make_package(tmp_path, keys)),
                         "--trust-store", str(keys.trust_store.folder), umask=0)
        assert done.returncode == 0, done.stderr
        assert len(server.reports) == 1
    finally:
        emulator.stop()
    data = home / "data"
    assert {_mode(folder) for folder in (home, home / "config", data)} == {0o700}
    history = list(data.glob("history.sqlite*"))  # SQLite removes -wal and -shm as the last user closes
    logs = list((data / "logs").rglob("*.log"))
    assert logs and data / "history.sqlite" in history
    for path in [*history, *logs, home / "config" / "settings.json"]:
        assert _mode(path) == 0o600, path
    everything = list(home.rglob("*"))
    assert [path for path in everything if _reachable_by_others(path, home)] == []


def test_a_home_an_older_tsuf_left_open_is_closed(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TSUF_HOME", str(home))
    data = home / "data"
    (data / "logs" / "VH000001").mkdir(parents=True)
    (home / "config").mkdir()
    for folder in (home, home / "config", data, data / "logs", data / "logs" / "VH000001"):
        folder.chmod(0o755)
    HistoryStore(data / "history.sqlite").record(_report())
    for path in data.glob("history.sqlite*"):
        path.chmod(0o644)
    load_settings()
    HistoryStore(data / "history.sqlite").close()
    assert {_mode(folder) for folder in (home, home / "config", data)} == {0o700}
    assert {_mode(path) for path in data.glob("history.sqlite*")} == {0o600}
    assert [path for path in home.rglob("*") if _reachable_by_others(path, home)] == []


def test_files_the_history_makes_later_are_owner_only_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        store = HistoryStore(tmp_path / "station" / "history.sqlite")
        store.record(_report())
        open_files = list((tmp_path / "station").glob("history.sqlite*"))
        assert len(open_files) == 3 and {_mode(path) for path in open_files} == {0o600}  # with -wal and -shm
        store.close()
        from flasher.history.attempt_log import AttemptLog
        log = AttemptLog(tmp_path / "station" / "logs" / "pending" / "one.log")
        log.write("INFO", "VH000001")
        log.close()
    finally:
        os.umask(previous)
    made = list((tmp_path / "station").rglob("*"))
    assert {_mode(path) for path in made if path.is_dir()} == {0o700}
    assert {_mode(path) for path in made if path.is_file()} == {0o600}
    assert _mode(tmp_path / "station") == 0o700


# -- the token over plain http ---------------------------------------------------------------


def test_the_token_is_not_sent_over_plain_http_to_another_machine():
    with pytest.raises(PlainHttpToken, match="clear text") as refused:
        HttpBackend("http://reports.lab:8080/reports", token="s3cret")
    assert "--backend-plain-http allow" in refused.value.hint
    HttpBackend("https://reports.lab/reports", token="s3cret")
    HttpBackend("http://reports.lab:8080/reports")  # no token, nothing secret to show
    HttpBackend("http://reports.lab:8080/reports", token="s3cret", plain_http=True)
    for loopback in ("127.0.0.1", "127.3.4.5", "localhost", "[::1]"):  # never leaves this machine
        HttpBackend(f"http://{loopback}:8080/reports", token="s3cret")


def test_settings_refuse_a_plain_http_backend_with_a_token_until_allowed(tmp_path):
    home = tmp_path / "home"
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    refused = _tsuf(home, "settings", "--backend", "http://10.1.2.3:8080/reports", "--backend-token-file", str(token))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "plain http" in refused.stderr and "--backend-plain-http allow" in refused.stderr
    assert not (home / "config" / "settings.json").exists()
    allowed = _tsuf(home, "--json", "settings", "--backend", "http://10.1.2.3:8080/reports",
                    "--backend-token-file", str(token), "--backend-plain-http", "allow")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["backend_plain_http"] is True
    # Taking the permission back is refused while the token would go over plain http.
    again = _tsuf(home, "settings", "--backend-plain-http", "refuse")
    assert again.returncode != 0 and "plain http" in again.stderr
    with ReportServer(token="s3cret") as server:
        loopback = _tsuf(home, "settings", "--backend", server.url, "--backend-plain-http", "refuse")
        assert loopback.returncode == 0, loopback.stderr
        HistoryStore(home / "data" / "history.sqlite").record(_report())
        delivered = _tsuf(home, "history", "--deliver")
        assert delivered.returncode == 0, delivered.stderr
    assert server.authorizations == ["Bearer s3cret"]
