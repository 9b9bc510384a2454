"""goosebit, a real rollout server speaking hawkBit's DDI API, for tests: its own process on a
free port of 127.0.0.1, with its database, artifacts and settings in a temporary folder.

It lives in its own venv (.venv-goosebit, made by scripts/setup --for-tests, or
$TSUF_TEST_GOOSEBIT), never in TSUF's: the tests start it as a process and speak HTTP to it,
as a station speaks to a lab's server. Its database is migrated with aerich, as its docs
say; `stop` and `start` keep the database, so a restart is a real one.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TENANT = "DEFAULT"


def goosebit_python() -> Path:
    venv = Path(os.environ.get("TSUF_TEST_GOOSEBIT") or ROOT / ".venv-goosebit")
    return venv / "bin" / "python"


def require_goosebit() -> Path:
    python = goosebit_python()
    if not python.exists():
        pytest.fail(f"no goosebit at {python.parent.parent}: run scripts/setup --for-tests")
    return python


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class GoosebitServer:
    def __init__(self, *, device_auth: str = "setup"):
        self.python = require_goosebit()
        self.folder = Path(tempfile.mkdtemp(prefix="tsuf-goosebit-"))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/{TENANT}"
        package = subprocess.run([str(self.python), "-c", "import goosebit, os; print(os.path.dirname(goosebit.__file__))"],
                                 capture_output=True, text=True, check=True, timeout=120).stdout.strip()
        (self.folder / "goosebit.yaml").write_text(json.dumps({  # YAML reads JSON
            "port": self.port, "db_uri": f"sqlite:///{self.folder / 'db.sqlite3'}",
            "artifacts_dir": str(self.folder / "artifacts"), "poll_time": "00:00:05", "track_device_ip": False,
            "device_auth": {"enable": True, "mode": device_auth},
            "secret_key": secrets.token_urlsafe(32)}))
        (self.folder / "pyproject.toml").write_text(
            f'[tool.aerich]\ntortoise_orm = "goosebit.db.config.TORTOISE_CONF"\n'
            f'location = "{package}/db/migrations"\nsrc_folder = "./."\n')
        self._env = {**os.environ, "GOOSEBIT_SETTINGS": str(self.folder / "goosebit.yaml")}
        self._run(str(self.python.parent / "aerich"), "upgrade")
        self.process: subprocess.Popen | None = None
        self.start()
        self.admin_token = self._setup_admin()

    def start(self) -> None:
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen([str(self.python), "-m", "uvicorn", "goosebit:app", "--host", "127.0.0.1",
                                         "--port", str(self.port)], cwd=self.folder, env=self._env,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"goosebit exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.base}/login", timeout=2).close()
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise RuntimeError("goosebit did not answer within 120 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- the admin's side: what a lab lead does in goosebit's UI, through its API -------------

    def upload(self, swu: Path) -> int:
        """Adds software (a .swu); its id."""
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{swu.name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + swu.read_bytes() \
            + f"\r\n--{boundary}--\r\n".encode()
        return self.api("PUT", "/api/v1/software", body, f"multipart/form-data; boundary={boundary}")["id"]

    def rollout(self, software_id: int, feed: str = "default") -> int:
        return self.api("PUT", "/api/v1/rollouts", {"name": f"rollout {software_id}", "feed": feed,
                                                    "software_id": software_id})["id"]

    def rollouts(self) -> list[dict]:
        return self.api("GET", "/api/v1/rollouts")["rollouts"]

    def device(self, controller: str) -> dict:
        return self.api("GET", f"/api/v1/devices/{controller}")

    def device_log(self, controller: str) -> str:
        return self.api("GET", f"/api/v1/devices/{controller}/log")["log"] or ""

    def api(self, method: str, path: str, body=None, content_type: str = "application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.admin_token}",
                                                  "Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def _setup_admin(self) -> str:
        form = f"username=admin@lab.test&password={secrets.token_hex(8)}".encode()
        request = urllib.request.Request(f"{self.base}/setup", data=form, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["access_token"]

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, cwd=self.folder, env=self._env, capture_output=True, text=True, timeout=180)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stderr[-2000:]}")


def make_swu(folder: Path, package: Path, *, version: str, product: str, hw_revision: str,
             members: dict[str, bytes] | None = None) -> Path:
    """An SWUpdate container (cpio "newc") around a TSUF package, as goosebit takes software: its
    sw-description names the version and the hardware it is for. `members` replaces the package."""
    description = (f'software = {{ version = "{version}"; {product} = {{ hardware-compatibility = '
                   f'[ "{hw_revision}" ]; }}; }};\n').encode()
    entries = {"sw-description": description, **(members if members is not None else
                                                 {package.name: package.read_bytes()})}
    out = bytearray()
    for number, (name, data) in enumerate([*entries.items(), ("TRAILER!!!", b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = [number, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out += b"070701" + "".join(f"{value:08x}" for value in fields).encode() + encoded
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    path = Path(folder) / f"{package.stem}-{version}.swu"
    path.write_bytes(bytes(out))
    return path
