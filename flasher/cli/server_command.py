"""`tsuf server start|stop|status`: the resident tsuf (resident.py), for stations that run many commands."""

import os
import subprocess
import sys
import time

from ..errors import FlasherError
from . import resident

START_SECONDS = 30.0  # importing everything on a busy machine
STOP_SECONDS = 10.0
NOT_RUNNING = 3  # as `systemctl status` says it
LOG_NAME = "resident.log"


class ServerNotStarted(FlasherError):
    hint = "Run the command without the server (it works the same, only slower), or see the log named above."


def run_server_command(args) -> int:
    if not resident.enabled():
        raise ServerNotStarted("the resident tsuf needs Unix sockets and fork (Linux, macOS), and TSUF_RESIDENT "
                               "not set to off", "Every command runs in its own process here, as before.")
    return {"start": _start, "stop": _stop, "status": _status, "run": _run}[args.server_command](args)


def _run(args) -> int:
    """In the foreground (a terminal, a systemd user service); `start` runs this in the background."""
    from .resident_server import ResidentError, serve
    try:
        serve(args.idle_minutes * 60)
    except ResidentError as error:
        raise ServerNotStarted(str(error), "Give TSUF a runtime folder only this user can enter (mode 700).") \
            from None
    return 0


def _status(args) -> int:
    answer = resident.control("status")
    if answer is None:
        print("tsuf server: not running")
        return NOT_RUNNING
    pid, served = (word.decode("ascii", "replace") for word in answer.split(b" ")[:2])
    print(f"tsuf server: running (pid {pid}, {served} command(s) served, socket {resident.socket_path()})")
    return 0


def _start(args) -> int:
    if resident.control("status") is not None:
        return _status(args)
    folder = resident.runtime_folder()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    log_path = os.path.join(folder, LOG_NAME)
    with open(log_path, "ab") as log:
        server = subprocess.Popen([*_this_tsuf(), "server", "run", "--idle-minutes", str(args.idle_minutes)],
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=log, cwd="/", start_new_session=True)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if resident.control("status", timeout=1.0) is not None:
            return _status(args)
        if server.poll() is not None:
            raise ServerNotStarted(f"the resident tsuf stopped at once (exit {server.returncode}); its log is "
                                   f"{log_path}")
        time.sleep(0.05)
    server.terminate()
    raise ServerNotStarted(f"the resident tsuf did not answer within {START_SECONDS:.0f} s; its log is {log_path}")


def _this_tsuf() -> list[str]:
    """This tsuf as a command: the bundle's executable, or this interpreter and the package."""
    return [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "flasher.cli.launch"]


def _stop(args) -> int:
    if resident.control("stop") is None:
        print("tsuf server: not running")
        return 0
    deadline = time.monotonic() + STOP_SECONDS
    while os.path.exists(resident.socket_path()) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("tsuf server: stopped")
    return 0
