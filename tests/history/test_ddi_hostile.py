"""A rollout server is as hostile as a device: every answer TSUF cannot use is refused with a named
error, tokens go nowhere but the server, and a .swu envelope only ever yields its one package."""

import http.server
import json
import threading

import pytest

from flasher.catalog.errors import DownloadHashMismatch
from flasher.catalog.fetch import HttpFetcher
from flasher.history.backend import PlainHttpToken
from flasher.history.ddi import DdiAnswerRefused, DdiError, DdiServer, controller_id
from flasher.selection import swu
from flasher.selection.swu import ContainerRefused
from tests.support.goosebit import make_swu


class ScriptedServer:
    """Answers each path with the JSON (or bytes) the test gives; keeps every request's headers."""

    def __init__(self, answers: dict[str, object]):
        self.answers, self.seen = answers, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
                answer = server.answers.get(self.path, {})
                body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            do_GET = do_PUT = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(answers):
        servers.append(ScriptedServer(answers))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


CONTROLLER = "/T/controller/v1/VH1"
DEPLOYMENT = CONTROLLER + "/deploymentBase/7"


def artifact(**changes):
    data = {"filename": "p.zip", "size": 10, "hashes": {"sha1": "a" * 40},
            "_links": {"download": {"href": "/T/controller/v1/VH1/download"}}}
    data.update(changes)
    return data


@pytest.mark.parametrize("answer, said", [
    ({"deployment": {"chunks": []}}, "holds 0 artifacts"),
    ({"deployment": {"chunks": [{"artifacts": [artifact(), artifact()]}]}}, "holds 2 artifacts"),
    ({"deployment": {"chunks": [{"artifacts": [artifact(size=-1)]}]}}, "out of range"),
    ({"deployment": {"chunks": [{"artifacts": [artifact(size=True)]}]}}, "'size' is missing"),
    ({"deployment": {"chunks": [{"artifacts": [artifact(hashes={"md5": "a" * 32})]}]}}, "no SHA-256 or SHA-1"),
    ({"deployment": {"chunks": [{"artifacts": [artifact(hashes={"sha256": "../x"})]}]}}, "no SHA-256 or SHA-1"),
    ({"deployment": {"chunks": [{"artifacts": [artifact(_links={"download": {"href": "file:///etc/shadow"}})]}]}},
     "not an http(s) URL"),
    ({"deployment": "everything"}, "'deployment' is missing"),
])
def test_a_deployment_tsuf_cannot_use_is_refused(scripted, answer, said):
    server = scripted({DEPLOYMENT: answer})
    with pytest.raises(DdiAnswerRefused, match=said.replace("(", r"\(").replace(")", r"\)")):
        DdiServer(server.base + "/T").deployment("VH1", "7")


def test_answers_that_are_too_large_or_not_json_or_name_a_strange_action_are_refused(scripted):
    server = scripted({CONTROLLER: {"_links": {"deploymentBase": {"href": "http://x/deploymentBase/..%2f..%2fx"}}},
                       "/T/controller/v1/BIG": b"{" + b" " * (1 << 20) + b"}",
                       "/T/controller/v1/TEXT": b"<html>hello</html>"})
    ddi = DdiServer(server.base + "/T")
    with pytest.raises(DdiAnswerRefused, match="action"):
        ddi.poll("VH1")
    assert ddi.poll("ELSE") == (None, False)
    with pytest.raises(DdiAnswerRefused, match="larger than"):
        ddi.poll("BIG")
    with pytest.raises(DdiAnswerRefused, match="not JSON"):
        ddi.poll("TEXT")


def test_a_hostile_serial_stays_one_path_segment(scripted):
    server = scripted({})
    hostile = "../../admin?x=1#\x1b"
    DdiServer(server.base + "/T").poll(controller_id(hostile))
    path = server.seen[-1][1]
    assert path.startswith("/T/controller/v1/") and path.count("/") == 4 and "?" not in path


def test_tokens_go_only_to_the_server_and_never_in_clear_text_to_another_machine(scripted):
    with pytest.raises(PlainHttpToken):
        DdiServer("http://hawkbit.lab/T", token="secret")
    server = scripted({})
    gateway = DdiServer(server.base + "/T", token="secret")
    gateway.poll("VH1")
    assert server.seen[-1][2]["Authorization"] == "GatewayToken secret"
    assert gateway.auth_headers("VH1", "https://cdn.example/p.zip") == {}
    target = DdiServer(server.base + "/T", token="secret", auth="target")
    target.poll("VH1")
    own = server.seen[-1][2]["Authorization"]
    assert own.startswith("TargetToken ") and len(own) == len("TargetToken ") + 32 and "secret" not in own
    assert target.target_token("VH1") != target.target_token("VH2")
    with pytest.raises(DdiError, match="not an http"):
        DdiServer("ftp://hawkbit.lab/T")


def test_a_download_whose_sha1_differs_from_the_servers_is_deleted(scripted, tmp_path):
    server = scripted({"/p.zip": b"0123456789"})
    with pytest.raises(DownloadHashMismatch, match="SHA1"):
        HttpFetcher().download(server.base + "/p.zip", tmp_path / "p", size=10, sha256="a" * 40, algorithm="sha1")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("members, said", [
    ({}, "holds 0 .zip packages"),
    ({"a.zip": b"x", "b.zip": b"y"}, "holds 2 .zip packages"),
])
def test_an_envelope_without_exactly_one_package_is_refused(tmp_path, members, said):
    package = tmp_path / "p.zip"
    package.write_bytes(b"PK")
    container = make_swu(tmp_path, package, version="1.0", product="x", hw_revision="1", members=members)
    with pytest.raises(ContainerRefused, match=said):
        swu.extract_package(container, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_a_member_that_runs_past_the_end_is_refused(tmp_path):
    package = tmp_path / "p.zip"
    package.write_bytes(b"PK" * 100)
    container = make_swu(tmp_path, package, version="1.0", product="x", hw_revision="1")
    container.write_bytes(container.read_bytes()[:300])
    with pytest.raises(ContainerRefused, match="past the end|not a cpio"):
        swu.extract_package(container, tmp_path / "out.zip")


def test_the_one_package_comes_out_whole(tmp_path):
    package = tmp_path / "p.zip"
    package.write_bytes(bytes(range(256)) * 7)
    container = make_swu(tmp_path, package, version="1.0", product="x", hw_revision="1")
    assert swu.is_container(container) and not swu.is_container(package)
    assert swu.extract_package(container, tmp_path / "out.zip").read_bytes() == package.read_bytes()


def test_a_report_no_server_assigned_updates_attributes_only_and_a_handset_never_asked_is_left_out(
        scripted, tmp_path):
    from flasher.history.ddi import Assignments, DdiTarget
    from flasher.history.report import Report
    server = scripted({})
    target = DdiTarget(DdiServer(server.base + "/T"), Assignments(tmp_path / "ddi.sqlite"))
    target.send(Report("r1", "bench", "tcp:10.0.0.9:5554", address="tcp:10.0.0.9:5554", result="PACKAGE_UNTRUSTED"))
    assert server.seen == []  # its serial was never read: no controller to speak for
    target.send(Report("r2", "bench", "VH1", address="tcp:10.0.0.9:5554", product="p", to_build="B130",
                       to_slot="b", package_sha256="f" * 64))
    [(method, path, _, body)] = server.seen
    assert (method, path) == ("PUT", "/T/controller/v1/VH1/configData")
    assert json.loads(body)["data"].items() >= {"build": "B130", "slot": "b", "sw_version": "B130", "last_code": "0"}.items()
