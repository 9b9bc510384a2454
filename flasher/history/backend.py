"""Delivering reports to a backend: an HTTP endpoint that receives JSON, a lab's PostgreSQL, or both.

Each report is sent once: a deliverer claims it in the outbox (a lease) before
sending, so two deliverers at once (two `tsuf history --deliver`, an update's
sender) never both send it, whatever the backend does with repeats. Only a
crash between the backend's answer and the outbox's delete, or a send that
outlives its lease, sends it again; for those each POST carries the report id
(in the body and as Idempotency-Key), so a backend that got a report before
answers 2xx or 409 and keeps one copy, and the PostgreSQL history
(postgres.py) inserts by report id and ignores a repeat.
"""

import ipaddress
import os
import random
import socket
import ssl
import threading
import time
import uuid
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ..errors import FlasherError
from .report import Report
from .store import HistoryStore

FIRST_RETRY = 2.0
LONGEST_RETRY = 600.0
LEASE_SPARE = 60.0
"""A claim lasts a send's timeout and this much more; past that its deliverer is presumed dead."""


class DeliveryFailed(FlasherError):
    hint = "Reports stay in the local outbox and are sent again when the backend answers."


class PlainHttpToken(DeliveryFailed):
    hint = ("Use the backend's https:// URL. On a lab LAN without TLS, allow plain http knowingly: "
            "tsuf settings --backend-plain-http allow.")


class Target(Protocol):
    timeout: float
    """The longest one `send` may take."""

    def send(self, report: Report) -> None:
        """Deliver one report, or raise DeliveryFailed; a repeat must leave one copy."""


class HttpBackend:
    """POSTs reports to `url`. HTTPS certificates are always verified (against `cafile` when
    the backend uses a private CA); `token` goes in an Authorization header and nowhere else.
    A token is never sent over plain http to another machine, where anyone on the path reads
    it, unless `plain_http` says the lab accepts that; this machine (loopback) is no such path."""

    def __init__(self, url: str, *, timeout: float = 10.0, token: str = "", cafile: str = "",
                 plain_http: bool = False):
        if not url.startswith(("http://", "https://")):
            raise DeliveryFailed(f"{url!r} is not an http(s) URL", hint="Set the backend URL to http://... or https://...")
        if token and url.startswith("http://") and not plain_http and not _is_loopback(url):
            raise PlainHttpToken(f"refusing to send the backend token in clear text over plain http to {url}")
        self.url = url
        self.timeout = timeout
        self._token = token
        try:
            self._context = ssl.create_default_context(cafile=cafile or None) if url.startswith("https://") else None
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryFailed(f"cannot use {cafile} as the backend's CA certificate ({exc})",
                                 hint="Give a readable PEM file with the CA certificate.") from None

    def send(self, report: Report) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": report.report_id}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.url, data=report.to_json().encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            if exc.code == 409:  # the backend already has this report
                return
            if exc.code in (401, 403):
                raise DeliveryFailed(f"backend refused the station's credentials (HTTP {exc.code})",
                                     hint="Check the backend token in the settings.") from None
            raise DeliveryFailed(f"backend answered HTTP {exc.code} for report {report.report_id}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise DeliveryFailed(
                    f"backend {self.url} presented a certificate this station does not trust "
                    f"({reason.verify_message})",
                    hint="Fix the server's certificate, or give the station the backend's CA "
                         "certificate (tsuf settings --backend-ca FILE).") from None
            raise DeliveryFailed(f"backend {self.url} unreachable ({reason})") from None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EveryTarget:
    """Several targets fed from the one outbox: a report leaves it once every target has it.
    Until then each retry sends it to all of them again, which idempotent targets absorb."""

    def __init__(self, targets: list[Target]):
        self.targets = targets
        self.timeout = sum(target.timeout for target in targets)

    def send(self, report: Report) -> None:
        for target in self.targets:
            target.send(report)


def retry_delay(attempts: int, *, jitter: float = 0.1) -> float:
    """Exponential backoff with a little jitter, so stations do not retry in step."""
    base = min(FIRST_RETRY * 2 ** attempts, LONGEST_RETRY)
    return base * (1 + random.uniform(-jitter, jitter))


@dataclass
class DeliveryRound:
    delivered: int = 0
    failed: int = 0
    last_error: str = ""
    left_to_others: int = 0
    """Reports another deliverer claimed first (it is sending them, or has sent them)."""


def deliver_due(store: HistoryStore, backend: Target, *, now: float | None = None,
                ignore_backoff: bool = False) -> DeliveryRound:
    """Send every report whose turn has come (every waiting one, with `ignore_backoff`) and that
    this deliverer can claim; stop at the first failure (the backend is down)."""
    clock = time.time if now is None else (lambda: now)
    deliverer = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
    outcome = DeliveryRound()
    for report, attempts in store.due_for_delivery(clock(), ignore_backoff=ignore_backoff):
        claimed_at = clock()
        if not store.claim(report.report_id, deliverer, claimed_at, claimed_at + backend.timeout + LEASE_SPARE):
            outcome.left_to_others += 1
            continue
        try:
            backend.send(report)
        except DeliveryFailed as exc:
            store.delivery_failed(report.report_id, deliverer, str(exc), clock() + retry_delay(attempts))
            outcome.failed += 1
            outcome.last_error = str(exc)
            break
        except BaseException:
            store.release(report.report_id, deliverer)
            raise
        store.delivered(report.report_id)
        outcome.delivered += 1
    return outcome


class OutboxSender:
    """Delivers in the background: every `interval` seconds, and at once when kicked."""

    def __init__(self, store: HistoryStore, backend: Target, *, interval: float = 5.0):
        self.store, self.backend, self.interval = store, backend, interval
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="tsuf-outbox")

    def start(self) -> "OutboxSender":
        self._thread.start()
        return self

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=self.backend.timeout + 5)

    def _run(self) -> None:
        while not self._stopping:
            deliver_due(self.store, self.backend)
            self._wake.wait(self.interval)
            self._wake.clear()
