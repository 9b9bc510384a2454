"""A real PostgreSQL server for tests: a private cluster in a temporary folder, on a free port of 127.0.0.1.

The tests start it themselves from the installed server binaries (Debian's postgresql
package, which scripts/setup installs), so CI needs no server running beforehand.
initdb and postgres refuse to run as root; as root (CI) they run as the `postgres`
system user, which then owns the cluster's folder. Clients log in with a password
(scram-sha-256), as a lab's stations would.
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "tsuf"
SYSTEM_USER = "postgres"
BIN_DIRS = Path("/usr/lib/postgresql")


def server_binaries() -> Path:
    """The newest installed server's bin folder, or $TSUF_TEST_PG_BIN."""
    if os.environ.get("TSUF_TEST_PG_BIN"):
        return Path(os.environ["TSUF_TEST_PG_BIN"])
    found = sorted((path for path in BIN_DIRS.glob("*/bin") if (path / "initdb").exists()),
                   key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.name)])
    if not found:
        raise RuntimeError(f"no PostgreSQL server under {BIN_DIRS}: run scripts/setup --for-tests "
                           "(it installs Debian's postgresql package)")
    return found[-1]


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.bin = server_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="tsuf-pg-"))
        self.data = self.folder / "data"
        self.password = secrets.token_urlsafe(12)
        self.port = _free_port()
        self.running = False
        self._as_root = os.getuid() == 0
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        if self._as_root:
            shutil.chown(self.folder, SYSTEM_USER)
            shutil.chown(password_file, SYSTEM_USER)
        self._run("initdb", "-D", str(self.data), "-U", USER, "-E", "UTF8", "--no-sync", "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={password_file}")
        password_file.unlink()
        self.start()

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        return f"postgresql://{USER}:{self.password if password is None else password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        # fsync off: a test cluster need not survive a power cut, and it saves the shared CPUs' time.
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode:
            log = self.folder / "server.log"
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}"
                               + (f"\n{log.read_text()[-2000:]}" if log.exists() else ""))
