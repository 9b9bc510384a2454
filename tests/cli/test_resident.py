"""The resident tsuf (`tsuf server`): a command it runs behaves as the same command run on its own:
output, exit status, the caller's folder, environment and umask, Ctrl-C; and it never serves
another user or code other than the caller's. Each caller is tried: the Python one and the
native one (packaging/caller/tsuf.c), which must behave alike."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from flasher.cli import resident
from tests.support.handsets import EmulatorProcess, small_profile
from tests.support.tools import requires_tool

pytestmark = pytest.mark.skipif(not resident.supported(), reason="the resident tsuf needs Unix sockets and fork")

LAUNCH = [sys.executable, "-m", "flasher.cli.launch"]
BUILD_CALLER = Path(__file__).resolve().parents[2] / "packaging" / "build_caller.py"


def build_native_caller(output: Path, python: str = sys.executable, env: dict | None = None) -> Path:
    """The native caller for `python`'s installation (the interpreter and package folder compiled in)."""
    built = subprocess.run([python, str(BUILD_CALLER), "--output", str(output)], capture_output=True, text=True,
                           env=env, timeout=180)
    assert built.returncode == 0, built.stderr
    return output


@pytest.fixture(scope="session")
def native_caller(tmp_path_factory):
    return build_native_caller(tmp_path_factory.mktemp("caller") / "tsuf")


@pytest.fixture(params=["python", pytest.param("native", marks=requires_tool("cc", "gcc"))])
def caller(request):
    """The command that starts `tsuf`: the Python caller, or the native one."""
    if request.param == "python":
        return LAUNCH
    return [str(request.getfixturevalue("native_caller"))]


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("TSUF_HOME", str(folder))
    monkeypatch.delenv("TSUF_RESIDENT", raising=False)
    return folder


@pytest.fixture
def server(home):
    subprocess.run(LAUNCH + ["server", "start"], check=True, capture_output=True, timeout=60)
    yield home
    subprocess.run(LAUNCH + ["server", "stop"], capture_output=True, timeout=60)


def tsuf(*args, caller=LAUNCH, cwd=None, env=None, timeout=60):
    return subprocess.run(caller + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def served() -> int:
    answer = resident.control("status")
    assert answer is not None, "the resident tsuf does not answer"
    return int(answer.split(b" ")[1])


def test_a_command_runs_in_the_server_with_the_same_output_and_status(server, emulator_process, caller):
    before = served()
    found = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller)
    refused = tsuf("-s", emulator_process.address, "getvar", "no-such-variable", caller=caller)
    usage = tsuf("flsh", caller=caller)
    assert served() == before + 3
    assert (found.returncode, found.stdout) == (0, "product: tsuf_zte_ab\n")
    assert refused.returncode == 1 and "device refused" in refused.stderr and refused.stdout == ""
    assert usage.returncode == 2 and "invalid choice: 'flsh'" in usage.stderr
    alone = tsuf("-s", emulator_process.address, "getvar", "no-such-variable", caller=caller,
                 env={**os.environ, "TSUF_RESIDENT": "off"})
    assert served() == before + 3  # TSUF_RESIDENT=off runs the command in its own process
    assert (alone.returncode, alone.stdout, alone.stderr) == (refused.returncode, refused.stdout, refused.stderr)


def test_paths_environment_and_umask_are_the_callers(server, emulator_process, tmp_path, caller):
    work = tmp_path / "work"
    work.mkdir()
    (work / "boot.img").write_bytes(os.urandom(64 * 1024))
    env = {**os.environ, "TSUF_DEVICE": emulator_process.address}
    before = served()
    assert tsuf("flash", "boot_a", "boot.img", caller=caller, cwd=work, env=env).returncode == 0
    read_back = subprocess.run(["sh", "-c", f"umask 077; exec {' '.join(caller)} fetch boot_a back.img"],
                               cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert read_back.returncode == 0, read_back.stderr
    assert served() == before + 2
    assert (work / "back.img").read_bytes()[:64 * 1024] == (work / "boot.img").read_bytes()
    assert (work / "back.img").stat().st_mode & 0o777 == 0o600


def _stalled_getvar_in_the_server(emulator: EmulatorProcess, caller: list[str]) -> subprocess.Popen:
    """`getvar product` against a handset that stalls on it, once the server has handed it over."""
    running = subprocess.Popen(caller + ["-s", emulator.address, "getvar", "product"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while served() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def test_ctrl_c_at_the_caller_stops_the_command_in_the_server(server, tmp_path, caller):
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), faults=("stall:getvar:product=60",))
    try:
        running = _stalled_getvar_in_the_server(emulator, caller)
        time.sleep(0.5)  # the child is asking the stalled handset
        running.send_signal(signal.SIGINT)
        _, err = running.communicate(timeout=30)
    finally:
        emulator.stop()
    assert running.returncode == 130 and "tsuf: interrupted" in err


@pytest.mark.parametrize("kind", ["python", pytest.param("native", marks=requires_tool("cc", "gcc"))])
def test_a_caller_of_another_interpreter_stops_the_server_and_runs_the_command_itself(server, emulator_process,
                                                                                      tmp_path, kind):
    other_python = tmp_path / "python3"
    other_python.symlink_to(sys.executable)  # another interpreter path: other code, as after an upgrade
    env = {**os.environ, "PYTHONPATH": str(Path(resident.package_folder()).parent)}  # outside the venv it sees
    if kind == "python":
        other_caller = [str(other_python), "-m", "flasher.cli.launch"]
    else:
        other_caller = [str(build_native_caller(tmp_path / "tsuf", python=str(other_python), env=env))]
    result = tsuf("-s", emulator_process.address, "getvar", "product", caller=other_caller, env=env)
    assert (result.returncode, result.stdout) == (0, "product: tsuf_zte_ab\n")
    assert "ran other code than this tsuf and has stopped" in result.stderr
    assert resident.control("status") is None
    assert tsuf("server", "status").returncode == 3


def test_an_edited_source_file_stops_the_server_before_it_runs_old_code(home, emulator_process, tmp_path, caller):
    """The server imported the package before the edit: the next command runs the edited code on its own."""
    installed = tmp_path / "installed"
    shutil.copytree(Path(resident.package_folder()), installed / "flasher",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(installed)}
    elsewhere = tmp_path / "elsewhere"  # not the repository, whose flasher/ `-m` would import first
    elsewhere.mkdir()
    if caller != LAUNCH:
        caller = [str(build_native_caller(tmp_path / "tsuf", env=env))]
    started = subprocess.run(LAUNCH + ["server", "start"], cwd=elsewhere, env=env, capture_output=True, timeout=60)
    try:
        assert started.returncode == 0, started.stderr
        first = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller, cwd=elsewhere, env=env)
        assert first.returncode == 0 and served() == 1
        errors = installed / "flasher" / "errors.py"
        errors.write_text(errors.read_text() + "\n# edited\n")
        second = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller, cwd=elsewhere, env=env)
        assert (second.returncode, second.stdout) == (0, "product: tsuf_zte_ab\n")
        assert "ran other code than this tsuf and has stopped" in second.stderr
        assert resident.control("status") is None
    finally:
        subprocess.run(LAUNCH + ["server", "stop"], cwd=elsewhere, env=env, capture_output=True, timeout=60)


def test_commands_that_own_the_process_run_in_the_callers(server, caller):
    """`server`, `gui`, `emulator`, `demo`: the server leaves them to the caller, which runs them itself."""
    status = tsuf("server", "status", caller=caller)
    assert status.returncode == 0 and status.stdout.startswith("tsuf server: running (pid ")
    assert served() == 0


def test_without_a_server_the_command_runs_on_its_own(home, emulator_process, caller):
    assert resident.control("status") is None
    found = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller)
    assert (found.returncode, found.stdout, found.stderr) == (0, "product: tsuf_zte_ab\n", "")


def test_the_server_refuses_a_folder_others_can_enter(home):
    run = home / "run"
    run.mkdir(mode=0o755)
    run.chmod(0o755)
    result = tsuf("server", "start")
    assert result.returncode == 1 and "not a folder only this user can enter" in (home / "run" / "resident.log").read_text()
    assert "ServerNotStarted" not in result.stderr and "stopped at once" in result.stderr


def test_a_caller_does_not_use_a_socket_in_a_folder_others_can_enter(server, emulator_process, caller):
    (server / "run").chmod(0o755)
    try:
        result = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller)
    finally:
        (server / "run").chmod(0o700)
    assert (result.returncode, result.stdout) == (0, "product: tsuf_zte_ab\n")
    assert served() == 0  # it ran on its own


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to call in as another user")
def test_the_server_refuses_a_caller_of_another_user(monkeypatch, emulator_process):
    reachable = Path(tempfile.mkdtemp(prefix="tsuf-resident-"))  # pytest's folders are root's alone
    try:
        reachable.chmod(0o711)
        home = reachable / "home"
        home.mkdir(mode=0o711)
        monkeypatch.setenv("TSUF_HOME", str(home))
        monkeypatch.delenv("TSUF_RESIDENT", raising=False)
        subprocess.run(LAUNCH + ["server", "start"], check=True, capture_output=True, timeout=60)
        run = home / "run"
        run.chmod(0o711)
        (run / resident.SOCKET_NAME).chmod(0o777)
        request = resident.encode_request(["-s", emulator_process.address, "getvar", "product"])
        caller = os.fork()
        if caller == 0:  # another user, connecting as such: the server reads its uid from the socket
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX) as other:
                    other.connect(str(run / resident.SOCKET_NAME))
                    try:
                        socket.send_fds(other, [request], [0, 1, 2])
                        answer = other.recv(1)
                    except (BrokenPipeError, ConnectionResetError):
                        answer = b""  # closed on it, before or after it finished asking
                    os._exit(0 if answer == b"" else 1)
            finally:
                os._exit(2)
        _, status = os.waitpid(caller, 0)
        run.chmod(0o700)
        assert os.waitstatus_to_exitcode(status) == 0  # the connection closed with no answer
        assert served() == 0
    finally:
        subprocess.run(LAUNCH + ["server", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(reachable, ignore_errors=True)


def test_stop_ends_the_server_and_status_says_so(server):
    assert tsuf("server", "status").stdout.startswith("tsuf server: running (pid ")
    assert tsuf("server", "stop").stdout == "tsuf server: stopped\n"
    status = tsuf("server", "status")
    assert (status.returncode, status.stdout) == (3, "tsuf server: not running\n")
    assert not Path(resident.socket_path()).exists()


def test_a_request_that_is_not_tsufs_runs_nothing(server):
    with socket.socket(socket.AF_UNIX) as probe:
        probe.connect(resident.socket_path())
        probe.sendall(struct.pack(">I", 9) + b"GET / 1.1")
        assert probe.recv(1) == b""
    assert served() == 0 and resident.control("status") is not None


needs_proc_children = pytest.mark.skipif(not Path("/proc/self/task").is_dir(),
                                         reason="finds the server's children in /proc (Linux)")


def server_children() -> list[int]:
    pid = int(resident.control("status").split(b" ")[0])
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@needs_proc_children
def test_a_ready_child_that_died_costs_one_command_its_server_and_no_more(server, emulator_process, caller):
    """The child forked ahead is killed while it waits: that caller runs its command itself,
    and the server forks another for the next."""
    ready = server_children()
    assert len(ready) == 1
    os.kill(ready[0], signal.SIGKILL)
    _wait_until_dead(ready[0])  # its end of the hand-over socket is closed only then
    alone = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller)
    assert (alone.returncode, alone.stdout) == (0, "product: tsuf_zte_ab\n")
    assert served() == 0
    again = tsuf("-s", emulator_process.address, "getvar", "product", caller=caller)
    assert (again.returncode, again.stdout) == (0, "product: tsuf_zte_ab\n")
    assert served() == 1


@needs_proc_children
def test_the_next_ready_child_waits_until_no_command_runs(server, tmp_path):
    """Forking it (and its warm-up) would take CPU from the running command's start and transfer."""
    emulator = EmulatorProcess(tmp_path / "handsets", profile=small_profile(), faults=("stall:getvar:product=3",))
    try:
        running = _stalled_getvar_in_the_server(emulator, LAUNCH)
        time.sleep(1)  # twenty times the idle wait after which a server with no command running forks
        during = server_children()
        out, _ = running.communicate(timeout=60)
    finally:
        emulator.stop()
    assert out == "product: tsuf_zte_ab\n"
    assert len(during) == 1  # the command's child alone
    deadline = time.monotonic() + 30
    while (after := server_children()) == during or not after:
        assert time.monotonic() < deadline, "no child was forked after the command ended"
        time.sleep(0.05)
    assert len(after) == 1 and after != during


def _wait_until_dead(pid: int) -> None:
    """Until the process has ended (a zombie, or gone) with all its threads, for at most a minute:
    a process with threads (the ready child's relay) closes its descriptors when the last thread
    has gone, which can come after its main thread shows it a zombie."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            threads = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X") and threads == [str(pid)]:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not end")


def test_the_ready_childs_warm_up_line_is_one_the_parser_takes():
    """A warm-up the parser refused would do nothing (its error is swallowed, so the child lives)."""
    from flasher.cli.parser import build_parser
    from flasher.cli.resident_server import WARM_UP_COMMAND

    args = build_parser().parse_args(WARM_UP_COMMAND)
    assert (args.command, args.partition) == ("flash", "system_a")
