"""Reports reach a real HTTP backend on loopback exactly once, whatever its uptime."""

import socket

import pytest

from flasher.history.backend import DeliveryFailed, HttpBackend, OutboxSender, deliver_due, retry_delay
from flasher.history.store import HistoryStore
from tests.history.test_store import _report
from tests.support.report_server import ReportServer


def _free_port() -> int:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_reports_made_while_the_backend_is_down_arrive_once_it_is_up(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    port = _free_port()
    backend = HttpBackend(f"http://127.0.0.1:{port}/reports", timeout=2)
    reports = [_report() for _ in range(5)]
    for report in reports:
        store.record(report)
        outcome = deliver_due(store, backend, now=0)  # nobody listening
        assert outcome.failed == 1 and "unreachable" in outcome.last_error
    assert store.pending_count() == 5
    with ReportServer(port) as server:
        deliver_due(store, backend, now=10**10)
    assert set(server.reports) == {r.report_id for r in reports}
    assert store.pending_count() == 0


def test_a_report_the_backend_already_has_is_not_duplicated(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    report = _report()
    store.record(report)
    with ReportServer() as server:
        backend = HttpBackend(server.url)
        backend.send(report)  # as if the earlier answer was lost on the way back
        deliver_due(store, backend, now=0)
    assert server.posts == 2
    assert list(server.reports) == [report.report_id]
    assert store.pending_count() == 0


def test_server_errors_are_retried_with_backoff(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(_report())
    with ReportServer(fail_first=2) as server:
        backend = HttpBackend(server.url)
        assert deliver_due(store, backend, now=0).failed == 1
        assert deliver_due(store, backend, now=0).delivered == 0  # not due yet: backing off
        assert deliver_due(store, backend, now=10**10).failed == 1
        assert deliver_due(store, backend, now=10**11).delivered == 1
    assert len(server.reports) == 1


def test_background_sender_delivers_when_kicked(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    with ReportServer() as server:
        sender = OutboxSender(store, HttpBackend(server.url), interval=30).start()
        try:
            store.record(_report())
            sender.kick()
            for _ in range(100):
                if server.reports:
                    break
                import time
                time.sleep(0.05)
        finally:
            sender.stop()
    assert len(server.reports) == 1


def test_backoff_grows_and_is_capped():
    assert retry_delay(0, jitter=0) == 2.0
    assert retry_delay(3, jitter=0) == 16.0
    assert retry_delay(50, jitter=0) == 600.0


def test_a_bad_backend_url_is_a_named_error():
    with pytest.raises(DeliveryFailed, match="not an http"):
        HttpBackend("ftp://example/reports")


def test_https_backend_with_an_untrusted_certificate_fails_clearly(tmp_path):
    from tests.support.tls import self_signed
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(_report())
    certificate = self_signed(tmp_path)
    with ReportServer(tls=certificate) as server:
        outcome = deliver_due(store, HttpBackend(server.url, timeout=5), now=0)
        assert outcome.failed == 1
        assert "certificate this station does not trust" in outcome.last_error
        assert deliver_due(store, HttpBackend(server.url, cafile=str(certificate[0])), now=10**10).delivered == 1
    assert len(server.reports) == 1


def test_the_bearer_token_is_sent_and_never_stored(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite")
    store.record(_report())
    with ReportServer(token="s3cret-token") as server:
        outcome = deliver_due(store, HttpBackend(server.url, token="wrong"), now=0)
        assert "credentials" in outcome.last_error
        assert deliver_due(store, HttpBackend(server.url, token="s3cret-token"), now=10**10).delivered == 1
    assert server.authorizations[-1] == "Bearer s3cret-token"
    assert all(b"s3cret" not in path.read_bytes() for path in tmp_path.glob("h.sqlite*"))


def test_a_missing_ca_file_is_a_named_error():
    with pytest.raises(DeliveryFailed, match="CA certificate"):
        HttpBackend("https://127.0.0.1:9/reports", cafile="/no/such/ca.pem")
