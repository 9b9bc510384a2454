"""Several deliverers on one outbox send each report once: they claim it first, whatever the backend does with repeats."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import psycopg

from flasher.history.backend import LEASE_SPARE, HttpBackend, deliver_due
from flasher.history.postgres import PostgresHistory
from flasher.history.store import HistoryStore
from tests.history.test_store import _report
from tests.support.report_server import ReportServer


def _outbox(path, count: int) -> list[str]:
    """`count` finished reports waiting for delivery, oldest first."""
    with closing(HistoryStore(path)) as store:
        reports = [_report(started=f"2026-11-26T10:{number // 60:02d}:{number % 60:02d}.000Z")
                   for number in range(count)]
        for report in reports:
            store.record(report)
    return [report.report_id for report in reports]


def _deliver_with_own_connection(path, target):
    with closing(HistoryStore(path)) as store:
        return deliver_due(store, target)


def test_a_report_another_deliverer_is_sending_is_left_to_it(tmp_path):
    path = tmp_path / "h.sqlite"
    ids = _outbox(path, 20)
    with ReportServer(hold_first=True) as server, ThreadPoolExecutor(1) as pool:
        first = pool.submit(_deliver_with_own_connection, path, HttpBackend(server.url))
        assert server.first_post_arrived.wait(30)  # the first deliverer is mid-send on the oldest report
        second = _deliver_with_own_connection(path, HttpBackend(server.url))
        server.release()
        first = first.result(timeout=60)
    assert (first.delivered, second.delivered) == (1, 19)
    # The first had listed all twenty; the second never listed the one under a live claim.
    assert (first.left_to_others, second.left_to_others) == (19, 0)
    assert server.posts == 20 and sorted(server.posted_ids) == sorted(ids)
    with closing(HistoryStore(path)) as store:
        assert store.pending_count() == 0


def test_several_deliver_commands_at_once_post_every_report_once(tmp_path):
    ids = _outbox(tmp_path / "data" / "history.sqlite", 94)
    with ReportServer() as server:
        env = {**os.environ, "TSUF_HOME": str(tmp_path), "TSUF_BACKEND": server.url}
        env.pop("TSUF_HISTORY", None)
        deliverers = [subprocess.Popen([sys.executable, "-m", "flasher.cli.main", "history", "--deliver"], env=env,
                                       stderr=subprocess.PIPE, text=True) for _ in range(3)]
        said = [process.communicate(timeout=120)[1] for process in deliverers]
    delivered = [int(text.split(" report(s) delivered")[0].split()[-1]) for text in said]
    assert sum(delivered) == 94, said
    assert server.posts == 94 and sorted(server.posted_ids) == sorted(ids)
    with closing(HistoryStore(tmp_path / "data" / "history.sqlite")) as store:
        assert store.pending_count() == 0


def test_a_dead_deliverers_claim_expires_and_the_report_is_sent_then(tmp_path):
    path = tmp_path / "h.sqlite"
    ids = _outbox(path, 3)
    with ReportServer(hold_first=True) as server:
        script = ("import sys; from flasher.history.store import HistoryStore; "
                  "from flasher.history.backend import HttpBackend, deliver_due; "
                  "deliver_due(HistoryStore(sys.argv[1]), HttpBackend(sys.argv[2], timeout=100))")
        doomed = subprocess.Popen([sys.executable, "-c", script, str(path), server.url])
        try:
            assert server.first_post_arrived.wait(60)
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait()
        with closing(HistoryStore(path)) as store:
            backend = HttpBackend(server.url)
            assert deliver_due(store, backend).delivered == 2  # the dead deliverer's claim still holds
            assert store.pending_count() == 1
            later = time.time() + 100 + LEASE_SPARE + 1
            assert deliver_due(store, backend, now=later).delivered == 1
            assert store.pending_count() == 0
    assert sorted(server.reports) == sorted(ids)
    assert server.posted_ids.count(ids[0]) == 2  # once by the dead deliverer (unanswered), once after its lease


def test_a_failed_send_frees_its_claim_at_once(tmp_path):
    path = tmp_path / "h.sqlite"
    _outbox(path, 1)
    with ReportServer(fail_first=1) as server, closing(HistoryStore(path)) as store:
        assert deliver_due(store, HttpBackend(server.url), now=1000).failed == 1
        # Past the backoff (a few seconds) but long before the claim would have expired.
        with closing(HistoryStore(path)) as other:
            assert deliver_due(other, HttpBackend(server.url), now=1000 + 60).delivered == 1
    assert server.posts == 2 and len(server.reports) == 1


_HELD = 0x7473_7566_0001


def test_deliverers_to_the_shared_history_insert_each_report_once(shared_url, tmp_path):
    path = tmp_path / "h.sqlite"
    ids = _outbox(path, 20)
    PostgresHistory(shared_url).schema_version()  # the tables exist; now count every INSERT the stations try
    with psycopg.connect(shared_url, autocommit=True) as db:
        db.execute("CREATE TABLE insert_attempts (report_id TEXT NOT NULL)")
        db.execute(f"""
            CREATE FUNCTION count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO insert_attempts VALUES (NEW.report_id);
                IF NEW.report_id = '{ids[0]}' THEN PERFORM pg_advisory_xact_lock_shared({_HELD}); END IF;
                RETURN NEW;
            END $$""")
        db.execute("CREATE TRIGGER count_insert BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION count_insert()")
        db.execute("SELECT pg_advisory_lock(%s)", (_HELD,))  # the oldest report's INSERT waits for this
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(_deliver_with_own_connection, path, PostgresHistory(shared_url))
            deadline = time.monotonic() + 60
            while not db.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                 ).fetchone()[0]:
                assert time.monotonic() < deadline, "the first deliverer never reached the oldest report"
                time.sleep(0.05)
            second = pool.submit(_deliver_with_own_connection, path, PostgresHistory(shared_url))
            try:
                second_round = second.result(timeout=60)  # it never waits on the report the first one holds
            finally:
                db.execute("SELECT pg_advisory_unlock(%s)", (_HELD,))
            first_round = first.result(timeout=60)
        assert (first_round.delivered, second_round.delivered) == (1, 19)
        attempts = [report_id for (report_id,) in db.execute("SELECT report_id FROM insert_attempts")]
    assert sorted(attempts) == sorted(ids)
