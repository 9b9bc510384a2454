"""A rollout server that speaks hawkBit's Direct Device Integration (DDI) API: Eclipse hawkBit,
goosebit, or any other. Each handset is a controller (its serial as the controllerId); the
station speaks for all of them.

`DdiServer` is the API: poll, configData (attributes), deploymentBase (an assignment and its
artifacts) and feedback. `DdiTarget` is a delivery target beside the HTTP backend and the
PostgreSQL history: the outbox hands it each finished report, and it pushes the handset's
attributes and, when the attempt carried out a deployment, that deployment's closing feedback.
Feedback is not idempotent on the server (each POST is one more entry in the action's
history), so besides the outbox's claim the station notes each report whose feedback the
server took, in `Assignments`, and never sends it again.

Everything the server sends is hostile: answers are bounded, parsed field by field, and a
token goes only to the server's own origin, never over plain http to another machine unless
the lab allows it (the backend's rule).
"""

import hashlib
import hmac
import json
import os
import re
import sqlite3
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from ..atomic import open_private, private_folder
from ..device_text import file_key
from .backend import DeliveryFailed, PlainHttpToken, _is_loopback
from .codes import Result
from .report import Report, utc_now

MAX_ANSWER = 1 << 20
MAX_ARTIFACT = 64 << 30
AUTH_MODES = ("gateway", "target")
_HEX = {"sha256": re.compile(r"[0-9a-f]{64}\Z"), "sha1": re.compile(r"[0-9a-f]{40}\Z")}
_ACTION_ID = re.compile(r"-?[0-9A-Za-z_.]{1,64}\Z")
# Attempts DDI hears of as a success (the handset runs, or will run after a reboot, the build); all else failed.
_SUCCEEDED = {Result.SUCCESS.code, Result.NOT_CONFIRMED.code, Result.NEEDS_REBOOT.code}
DETAIL_LINES = 60


class DdiError(DeliveryFailed):
    hint = "Check the rollout server's URL and token (tsuf settings --ddi, --ddi-token-file, --ddi-auth)."


class DdiAnswerRefused(DdiError):
    hint = "The rollout server sent something TSUF does not accept; the handset was left alone."


def controller_id(serial: str) -> str:
    """The handset's controllerId: its serial as it is when plain, else made safe (device_text.file_key)."""
    return file_key(serial)


@dataclass(frozen=True)
class Artifact:
    filename: str
    size: int
    algorithm: str
    """The strongest hash the server gave: sha256 (hawkBit), else sha1 (goosebit)."""
    digest: str
    url: str


@dataclass(frozen=True)
class Deployment:
    action_id: str
    version: str
    """The build the server assigns (the chunk's version)."""
    artifact: Artifact


class DdiServer:
    """`url` is the tenant's base, e.g. https://hawkbit.lab/DEFAULT; controllers are under
    /controller/v1/. With `auth` "gateway" the station sends `GatewayToken TOKEN` for every
    handset; with "target" each handset gets its own `TargetToken`, derived from TOKEN and its
    controllerId (`target_token`), so one secret on the station serves every handset."""

    def __init__(self, url: str, *, token: str = "", auth: str = "gateway", timeout: float = 15.0,
                 cafile: str = "", plain_http: bool = False):
        if not url.startswith(("http://", "https://")):
            raise DdiError(f"{url!r} is not an http(s) URL", hint="Set the rollout server's URL: "
                           "tsuf settings --ddi https://HOST/TENANT")
        if auth not in AUTH_MODES:
            raise DdiError(f"unknown DDI authentication {auth!r}", hint="Use gateway or target.")
        if token and url.startswith("http://") and not plain_http and not _is_loopback(url):
            raise PlainHttpToken(f"refusing to send the rollout server's token in clear text over plain http to {url}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._token, self._auth = token, auth
        try:
            self._context = ssl.create_default_context(cafile=cafile or None) if url.startswith("https://") else None
        except (OSError, ssl.SSLError) as exc:
            raise DdiError(f"cannot use {cafile} as the rollout server's CA certificate ({exc})") from None

    def target_token(self, controller: str) -> str:
        """A handset's own token: 32 hex characters (the length servers store), the same on every run."""
        return hmac.new(self._token.encode(), controller.encode(), hashlib.sha256).hexdigest()[:32]

    def auth_headers(self, controller: str, url: str) -> dict[str, str]:
        """The Authorization header for `url`, only if it is on the server's own origin."""
        if not self._token or _origin(url) != _origin(self.url):
            return {}
        if self._auth == "gateway":
            return {"Authorization": f"GatewayToken {self._token}"}
        return {"Authorization": f"TargetToken {self.target_token(controller)}"}

    def controller_url(self, controller: str) -> str:
        return f"{self.url}/controller/v1/{quote(controller, safe='')}"

    def poll(self, controller: str) -> tuple[str | None, bool]:
        """The controller's base: registers the handset on its first poll. The action id of its
        open deployment (or None), and whether the server asks for its attributes (configData)."""
        answer = self._request("GET", controller, self.controller_url(controller))
        links = _field(answer, "_links", dict, {})
        href = _field(links.get("deploymentBase") or {}, "href", str, "")
        action = _checked_action(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]) if href else None
        return action, "configData" in links

    def put_attributes(self, controller: str, attributes: dict[str, str]) -> None:
        self._request("PUT", controller, self.controller_url(controller) + "/configData",
                      {"mode": "merge", "data": attributes})

    def deployment(self, controller: str, action_id: str) -> Deployment:
        url = f"{self.controller_url(controller)}/deploymentBase/{quote(action_id, safe='')}"
        answer = self._request("GET", controller, url)
        chunks = _field(_field(answer, "deployment", dict), "chunks", list)
        artifacts = [(chunk, artifact) for chunk in chunks if isinstance(chunk, dict)
                     for artifact in _field(chunk, "artifacts", list, [])]
        if len(artifacts) != 1:
            raise DdiAnswerRefused(f"deployment {action_id} for {controller} holds {len(artifacts)} artifacts; "
                                   "TSUF installs exactly one signed package per deployment")
        chunk, artifact = artifacts[0]
        return Deployment(action_id, str(_field(chunk, "version", str, ""))[:64], _artifact(artifact, url))

    def feedback(self, controller: str, action_id: str, *, execution: str, finished: str = "none",
                 progress: tuple[int, int] | None = None, details: list[str] = (), code: int | None = None) -> None:
        result: dict = {"finished": finished}
        if progress:
            result["progress"] = {"cnt": progress[0], "of": progress[1]}
        status: dict = {"execution": execution, "result": result, "details": list(details)}
        if code is not None:
            status["code"] = code
        url = f"{self.controller_url(controller)}/deploymentBase/{quote(action_id, safe='')}/feedback"
        self._request("POST", controller, url, {"time": utc_now(), "status": status})

    def _request(self, method: str, controller: str, url: str, body: dict | None = None) -> dict:
        headers = {"Accept": "application/hal+json, application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        for name, value in self.auth_headers(controller, url).items():  # never sent on to a redirect
            request.add_unredirected_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                raw = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (401, 403):
                raise DdiError(f"rollout server refused the station's token for {controller} (HTTP {exc.code})") from None
            raise DdiError(f"rollout server answered HTTP {exc.code} to {method} {url}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DdiError(f"rollout server {self.url} unreachable ({getattr(exc, 'reason', exc)})") from None
        if len(raw) > MAX_ANSWER:
            raise DdiAnswerRefused(f"rollout server's answer to {method} {url} is larger than {MAX_ANSWER} bytes")
        if not raw.strip():
            return {}
        try:
            answer = json.loads(raw)
        except ValueError:
            raise DdiAnswerRefused(f"rollout server's answer to {method} {url} is not JSON") from None
        return answer if isinstance(answer, dict) else {}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _field(data: dict, name: str, kind: type, default=None):
    value = data.get(name, default) if isinstance(data, dict) else default
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise DdiAnswerRefused(f"the rollout server's {name!r} is missing or not a {kind.__name__}")
    return value


def _checked_action(action: str) -> str:
    if not _ACTION_ID.fullmatch(action):
        raise DdiAnswerRefused(f"the rollout server named an action {action[:80]!r} TSUF cannot use")
    return action


def _artifact(artifact: dict, deployment_url: str) -> Artifact:
    size = _field(artifact, "size", int)
    if not 0 < size <= MAX_ARTIFACT:
        raise DdiAnswerRefused(f"the artifact's size {size} is out of range")
    hashes = _field(artifact, "hashes", dict)
    algorithm = next((name for name in ("sha256", "sha1") if isinstance(hashes.get(name), str)), "")
    if not algorithm or not _HEX[algorithm].fullmatch(hashes[algorithm].lower()):
        raise DdiAnswerRefused("the artifact carries no SHA-256 or SHA-1 that TSUF can check it against")
    links = _field(artifact, "_links", dict)
    download = links.get("download") or links.get("download-http") or {}
    href = urljoin(deployment_url, _field(download, "href", str))
    if urlsplit(href).scheme not in ("http", "https"):
        raise DdiAnswerRefused("the artifact's download link is not an http(s) URL")
    return Artifact(str(_field(artifact, "filename", str, "package"))[:200], size, algorithm,
                    hashes[algorithm].lower(), href)


class Assignments:
    """What the station took from the server, kept beside its history (SQLite, owner-only):
    each handset's attributes (servers replace them whole), the deployments taken and which
    report closed each, and every report whose feedback the server took."""

    def __init__(self, path: Path):
        path = Path(path)
        private_folder(path.parent)
        os.close(open_private(path, os.O_RDWR))
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript("""
                CREATE TABLE IF NOT EXISTS controllers (controller TEXT PRIMARY KEY, attributes TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS actions (controller TEXT NOT NULL, action_id TEXT NOT NULL,
                    package_sha256 TEXT NOT NULL, version TEXT NOT NULL, closed_by TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (controller, action_id));
                CREATE TABLE IF NOT EXISTS fed_back (report_id TEXT PRIMARY KEY);
            """)

    def attributes(self, controller: str) -> dict[str, str]:
        with self._lock:
            row = self._db.execute("SELECT attributes FROM controllers WHERE controller = ?", (controller,)).fetchone()
        return json.loads(row[0]) if row else {}

    def set_attributes(self, controller: str, attributes: dict[str, str]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO controllers VALUES (?, ?)", (controller, json.dumps(attributes)))

    def take(self, controller: str, action_id: str, package_sha256: str, version: str) -> None:
        """The deployment's package is `package_sha256`: the attempt with it answers the deployment."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO actions VALUES (?, ?, ?, ?, '')",
                             (controller, action_id, package_sha256, version))

    def open_action(self, controller: str, package_sha256: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT action_id FROM actions WHERE controller = ? AND package_sha256 = ? "
                                   "AND closed_by = '' ORDER BY rowid DESC", (controller, package_sha256)).fetchone()
        return row[0] if row else None

    def fed_back(self, report_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM fed_back WHERE report_id = ?", (report_id,)).fetchone() is not None

    def closed(self, controller: str, action_id: str, report_id: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO fed_back VALUES (?)", (report_id,))
            self._db.execute("UPDATE actions SET closed_by = ? WHERE controller = ? AND action_id = ?",
                             (report_id, controller, action_id))
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def handset_attributes(facts) -> dict[str, str]:
    """configData for a handset (preflight's HandsetFacts): TSUF's names, and the swupdate names
    servers such as goosebit read (hw_boardname, hw_revision, sw_version). All of them every time:
    some servers replace the set rather than merge it."""
    data = {"product": facts.product, "hw_revision": facts.hw_revision, "build": facts.build,
            "slot": facts.current_slot or "", "lock_state": facts.lock_state, "serialno": facts.serialno}
    data.update(hw_boardname=facts.product or "default", sw_version=facts.build)
    return {key: str(value)[:128] for key, value in data.items()}


def feedback_details(report: Report) -> list[str]:
    """What the server keeps of an attempt: TSUF's result and code, where it stopped, durations, the log tail."""
    lines = [f"TSUF {report.result} (code {report.code}) on {report.device_serial}, report {report.report_id}",
             f"{report.from_build or '?'} -> {report.to_build or '?'}, {report.duration:g} s in phases"
             + "".join(f", {phase} {seconds:g} s" for phase, seconds in report.durations.items())]
    if report.message:
        lines.append(f"{report.phase or 'attempt'}: {report.message}")
    lines += report.log_tail.splitlines()[-DETAIL_LINES:]
    return [line[:500] for line in lines]


class DdiTarget:
    """The outbox's DDI target: each report updates its handset's attributes, and closes the
    deployment it carried out (success or failure, TSUF's code and log tail in the details)."""

    def __init__(self, server: DdiServer, assignments: Assignments):
        self.server, self.assignments = server, assignments
        self.timeout = server.timeout * 2

    def send(self, report: Report) -> None:
        if report.device_serial in ("", report.address) or self.assignments.fed_back(report.report_id):
            return  # no serial (a refusal before the handset was asked): no controller to speak for
        controller = controller_id(report.device_serial)
        attributes = self.assignments.attributes(controller)
        succeeded = report.code in _SUCCEEDED
        changes = {"product": report.product, "build": report.to_build if succeeded else report.from_build,
                   "slot": report.to_slot if succeeded else report.from_slot}
        attributes.update({key: value for key, value in changes.items() if value})
        if report.product:
            attributes["hw_boardname"] = report.product
        attributes["sw_version"] = attributes.get("build", "")
        attributes.update(last_result=report.result, last_code=str(report.code))
        self.server.put_attributes(controller, attributes)  # a repeat changes nothing
        self.assignments.set_attributes(controller, attributes)
        action = self.assignments.open_action(controller, report.package_sha256) if report.package_sha256 else None
        if action is None:
            return
        self.server.feedback(controller, action, execution="closed", finished="success" if succeeded else "failure",
                             progress=(1, 1) if succeeded else None, details=feedback_details(report),
                             code=report.code)
        self.assignments.closed(controller, action, report.report_id)
