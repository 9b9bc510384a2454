"""The resident tsuf's server (resident.py says why): everything imported once, a fork per command.

It serves one user from a socket in a folder only they can enter, and also refuses a
caller of another uid where the system names it (SO_PEERCRED). One child is forked
ahead and waits; the server hands it the next caller, and forks the next once no command
runs and no caller has come for READY_AFTER_SECONDS (a caller sooner gets one forked on
the spot). Each
child takes the caller's streams, folder, environment, umask and command line, says it
started, runs `tsuf` exactly as the command line would, and sends its exit status after
Python's own shutdown steps (threads joined, streams flushed). The server stops on
SIGTERM, on `tsuf server stop`, after it has been idle for `idle_seconds`, or when a
caller runs other code than it does. It never starts a thread, so every fork is safe.
"""

import argparse
import atexit
import gc
import importlib
import io
import os
import queue
import signal
import socket
import struct
import sys
import threading
import time

from . import resident
from .code_watch import CodeWatch
from .command_name import named_command

# What the commands it serves import; a command that needs more imports it in its child.
PRELOAD = ("encodings.idna", "flasher.cli.main", "flasher.cli.parser", "flasher.cli.logs",
           "flasher.cli.device_commands", "flasher.cli.discovery_commands", "flasher.cli.bootloader_commands",
           "flasher.cli.update_command", "flasher.cli.latest_command", "flasher.cli.history_command",
           "flasher.cli.package_command", "flasher.cli.payload_command", "flasher.cli.catalog_command",
           "flasher.cli.library_command", "flasher.cli.cache_command", "flasher.cli.keys_command",
           "flasher.cli.settings_command", "flasher.cli.ddi_command", "flasher.fastboot", "flasher.sparse.reader",
           "flasher.sparse.writer", "flasher.sparse.transfer", "flasher.transport.tcp", "flasher.transport.udp",
           "flasher.transport.usb", "flasher.transport.serial")
CONTROL = b"control"
DEFAULT_IDLE_SECONDS = 8 * 3600
_POLL_SECONDS = 1.0
READY_AFTER_SECONDS = 0.05
"""The next child is forked once no command runs and no caller came for this long: the fork
(copying the server's page tables) and the child's warm-up take 4-5 ms of a CPU, which would
compete with a running command's start and its transfer, the time a user waits."""
_REQUEST_SECONDS = 5.0
WARM_UP_COMMAND = ["-s", "tcp:127.0.0.1:5554", "flash", "system_a", "system.img"]
"""Parsed by each ready child before its caller comes: the options every command shares."""


class ResidentError(Exception):
    """The server cannot start: its folder is not private, or another server answers."""


class _Stop(Exception):
    pass


def serve(idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
    """Serve until stopped."""
    folder = resident.runtime_folder()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if not resident.folder_is_private(folder):
        raise ResidentError(f"{folder} is not a folder only this user can enter (mode 700, owned by them)")
    path = os.path.join(folder, resident.SOCKET_NAME)
    for name in PRELOAD:
        importlib.import_module(name)
    from .parser import build_parser
    parser = build_parser()  # every command's options, built once rather than in each child
    # Every object so far is shared with the children: kept out of their collections, the
    # pages holding it are not copied into each child (copy-on-write) by the collector.
    gc.freeze()
    listener = _listen(path)
    bound = os.stat(path).st_ino
    signal.signal(signal.SIGTERM, _raise_stop)
    server = _Server(listener, parser)
    try:
        server.run(idle_seconds)
    except _Stop:
        return
    finally:
        server.close()
        try:
            if os.stat(path).st_ino == bound:  # a newer server may have taken the name since
                os.unlink(path)
        except OSError:
            pass


class _Server:
    def __init__(self, listener: socket.socket, parser: argparse.ArgumentParser):
        self.listener, self.parser = listener, parser
        self.code = CodeWatch()
        self.children: set[int] = set()
        self.served = 0
        self.ready: _ReadyChild | None = self._fork_ready()

    def run(self, idle_seconds: float) -> None:
        last_request = time.monotonic()
        while True:
            self._reap()
            self.listener.settimeout(READY_AFTER_SECONDS if self.ready is None else _POLL_SECONDS)
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                if self.ready is None:
                    if not self.children:
                        self.ready = self._fork_ready()
                elif not self.children and time.monotonic() - last_request > idle_seconds:
                    return
                continue
            last_request = time.monotonic()
            with connection:
                stop = self._answer(connection)
            if stop:
                return

    def close(self) -> None:
        if self.ready is not None:
            self.ready.dismiss()
        self.listener.close()
        self.code.close()

    def _fork_ready(self, *, also_close: tuple[int, ...] = ()) -> "_ReadyChild":
        watch = self.code.fileno()
        return _ReadyChild(self.listener, self.parser, also_close + ((watch,) if watch is not None else ()))

    def _reap(self) -> None:
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)

    def _answer(self, connection: socket.socket) -> bool:
        """Serve one caller; True when the server must stop."""
        connection.settimeout(_REQUEST_SECONDS)
        fds: list[int] = []
        try:
            if not _same_user(connection):
                return False
            fields, fds = _receive(connection)
            if fields[1] == CONTROL:
                return _control(connection, fields[2:], self.code.fingerprint, self.served)
            if not _runs_our_code(fields, self.code):
                connection.sendall(resident.STALE + resident.STALE_NOTE)
                return True
            argv, _ = _command_line(fields)
            if named_command(argv) in resident.CALLER_RUNS:
                connection.sendall(resident.RUN_HERE)
                return False
            if len(fds) != 3:
                return False
            self._start(connection, fds, fields)
            return False
        except (OSError, ValueError, IndexError):
            return False  # a caller that went away or sent something else: nothing ran
        finally:
            for fd in fds:
                os.close(fd)

    def _start(self, connection: socket.socket, fds: list[int], fields: list[bytes]) -> None:
        """The ready child takes the command."""
        if self.ready is None:  # the caller came before the next child was forked
            self.ready = self._fork_ready(also_close=(connection.fileno(), *fds))
        child, self.ready = self.ready, None
        try:
            child.hand_over(connection, fds, fields)
        except OSError:
            child.dismiss()  # it died waiting; the caller, answered by nothing, runs the command itself
            raise
        self.children.add(child.pid)
        self.served += 1


class _ReadyChild:
    """A child forked before any caller asks, waiting for one: the fork costs the server's
    idle time, not a caller's (Android's zygote keeps its forks ready the same way)."""

    def __init__(self, listener: socket.socket, parser: argparse.ArgumentParser, server_fds: tuple[int, ...]):
        """`server_fds`: descriptors of the server's that the child must not keep (a caller's, the code watch)."""
        parent_end, child_end = socket.socketpair()
        self.pid = os.fork()
        if self.pid == 0:
            listener.close()
            parent_end.close()
            for fd in server_fds:
                os.close(fd)
            _wait_for_caller(child_end, parser)  # never returns
        child_end.close()
        self._end: socket.socket | None = parent_end

    def hand_over(self, connection: socket.socket, fds: list[int], fields: list[bytes]) -> None:
        """The caller's connection and descriptors, then its request."""
        body = b"\0".join(fields)
        socket.send_fds(self._end, [struct.pack(">I", len(body))], [connection.fileno(), *fds])
        self._end.sendall(body)
        self._end.close()
        self._end = None

    def dismiss(self) -> None:
        """Closing its end tells a waiting child to leave."""
        if self._end is not None:
            self._end.close()
            self._end = None
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def _wait_for_caller(end: socket.socket, parser: argparse.ArgumentParser) -> None:
    """The ready child: get ready, wait for a caller handed over by the server, then run its command."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C at a foreground server is the server's
        # Work every command does first, done while no caller waits: the parser's first pass in
        # a fork copies each page it touches, and a thread takes a while to start.
        _warm_up(parser)
        handed = queue.SimpleQueue()
        threading.Thread(target=_relay_interrupts, args=(handed,), daemon=True).start()
        header, fds, _, _ = socket.recv_fds(end, 4, 4)
        if len(header) != 4 or len(fds) != 4:
            os._exit(0)
        size = struct.unpack(">I", header)[0]
        body = bytearray()
        while len(body) < size:
            chunk = end.recv(size - len(body))
            if not chunk:
                os._exit(0)
            body += chunk
        end.close()
    except BaseException:
        os._exit(0)
    _child(socket.socket(fileno=fds[0]), fds[1:], bytes(body).split(b"\0"), parser, handed)


def _listen(path: str) -> socket.socket:
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            raise ResidentError(f"a resident tsuf already answers on {path}")
        except OSError:
            os.unlink(path)  # left by a server that died
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    listener.settimeout(_POLL_SECONDS)
    return listener


def _raise_stop(signum, frame):
    raise _Stop


def _same_user(connection: socket.socket) -> bool:
    peer = getattr(socket, "SO_PEERCRED", None)
    if peer is None:
        return True  # the folder's mode is the guard where the system does not name the caller
    _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, peer, struct.calcsize("3i")))
    return uid == os.getuid()


def _receive(connection: socket.socket) -> tuple[list[bytes], list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, 65536, 3)
    if len(data) < 4:
        raise ValueError("no request")
    size = struct.unpack(">I", data[:4])[0]
    if size > resident.MAX_REQUEST:
        raise ValueError("request too large")
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = connection.recv(size - len(body))
        if not chunk:
            raise ValueError("request cut short")
        body += chunk
    fields = bytes(body).split(b"\0")
    if not fields[0].startswith(resident.PROTOCOL_FAMILY) or len(fields) < 3:
        raise ValueError("not a tsuf request")
    return fields, fds


def _runs_our_code(fields: list[bytes], code: CodeWatch) -> bool:
    """The caller speaks this version, runs this interpreter and package, and the code on
    disk is still what this server imported."""
    return (fields[0] == resident.PROTOCOL and fields[1] == os.fsencode(sys.executable)
            and fields[2] == os.fsencode(resident.package_folder()) and not code.changed())


def _command_line(fields: list[bytes]) -> tuple[list[str], list[bytes]]:
    """A request's arguments, and its environment as NAME=value items (resident.py lays them out)."""
    count = int(fields[5])
    if not 0 <= count <= len(fields) - 6:
        raise ValueError("argument count out of range")
    return [os.fsdecode(word) for word in fields[6:6 + count]], fields[6 + count:]


def _control(connection: socket.socket, words: list[bytes], fingerprint: bytes, served: int) -> bool:
    if words == [b"status"]:
        connection.sendall(b"%d %d %s" % (os.getpid(), served, fingerprint))
        return False
    if words == [b"stop"]:
        connection.sendall(b"stopping")
        return True
    return False


def _warm_up(parser: argparse.ArgumentParser) -> None:
    try:
        parser.parse_args(WARM_UP_COMMAND)
    except BaseException:  # never fatal, and a test keeps the line parsing
        pass


def _child(connection: socket.socket, fds: list[int], fields: list[bytes], parser: argparse.ArgumentParser,
           relay: queue.SimpleQueue) -> None:
    """Become the caller's `tsuf` and run its command line; exits the process. `relay` takes the
    connection to the thread that turns the caller's Ctrl-C into ours."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        cwd, umask = fields[3], int(fields[4])
        argv, environment = _command_line(fields)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        _take_environment(environment)
        time.tzset()
        os.umask(umask)
        _take_streams()
        connection.settimeout(None)
        connection.sendall(resident.STARTED)
        relay.put(connection)
        sys.argv = ["tsuf", *argv]
        try:
            os.chdir(cwd)
        except OSError as error:
            print(f"tsuf: cannot work in {os.fsdecode(cwd)} ({error.strerror})", file=sys.stderr)
            sys.exit(1)
        from .main import main
        code = main(argv, parser)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    except KeyboardInterrupt:
        print("tsuf: interrupted", file=sys.stderr)
        code = 130
    except BaseException:
        import traceback
        traceback.print_exc()
    _finish(connection, code)


def _finish(connection: socket.socket, code: int) -> None:
    """End as a process ends (threads joined, exit handlers run, streams flushed), then send
    the status and leave without unwinding into the server's frames."""
    try:
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        for fd in (0, 1, 2):  # a pipe from the caller ends with the caller, not after this process's teardown
            os.close(fd)
        connection.sendall(resident.EXITED + struct.pack(">i", code))
    except BaseException:
        pass  # the caller reports a command that ended without a status
    os._exit(code & 0xFF)


def _take_environment(items: list[bytes]) -> None:
    """The caller's environment; only what differs from the server's is set or unset, as
    each costs a call into the C library."""
    wanted = {}
    for item in items:
        name, _, value = item.partition(b"=")
        if name:
            wanted[name] = value
    for name in [name for name in os.environb if name not in wanted]:
        del os.environb[name]
    for name, value in wanted.items():
        if os.environb.get(name) != value:
            os.environb[name] = value


def _take_streams() -> None:
    """New standard streams on the caller's descriptors, buffered as Python buffers them."""
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    encoding = os.environ.get("PYTHONIOENCODING", "").split(":")[0] or "utf-8"
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(open(0, "rb", closefd=False), encoding=encoding)
    sys.stdout = sys.__stdout__ = _writer(1, encoding, "strict", unbuffered)
    sys.stderr = sys.__stderr__ = _writer(2, encoding, "backslashreplace", True)


def _writer(fd: int, encoding: str, errors: str, unbuffered: bool) -> io.TextIOWrapper:
    raw = open(fd, "wb", buffering=0 if unbuffered else -1, closefd=False)
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, line_buffering=os.isatty(fd),
                            write_through=unbuffered)


def _relay_interrupts(handed: queue.SimpleQueue) -> None:
    """Ctrl-C at the caller, or the caller gone: the command stops as it would on Ctrl-C."""
    connection = handed.get()
    main = threading.main_thread().ident
    while True:
        try:
            data = connection.recv(1)
        except OSError:
            data = b""
        if data == resident.INTERRUPT or not data:
            signal.pthread_kill(main, signal.SIGINT)
        if not data:
            return
