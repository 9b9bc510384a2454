"""The resident tsuf: one warm process that runs each command line in a fork of itself.

A fresh Python process spends a tenth of a second or more starting and importing before
its first word to a handset; a lab script that runs `tsuf getvar` or `tsuf flash` a
thousand times pays it a thousand times. `tsuf server start` keeps one process with
everything imported; each `tsuf` then hands it the command line, its working folder, its
environment, its umask and its standard streams (the file descriptors themselves, over a
Unix socket), and the server forks a child that runs the command exactly as `tsuf` would,
writing straight to the caller's terminal. The caller relays Ctrl-C and takes the exit
status. Android's zygote and the adb server work the same way.

This module is the caller's half and what both halves share; it imports only what a
bare interpreter already has, as it runs before anything else. The server is
resident_server.py. The socket is in a folder only the user can enter, and the server
also checks the caller's uid where the system says it. A server whose code differs from
the caller's (another interpreter or installation, an upgrade, an edit) stops instead of
serving, and the caller runs the command itself. POSIX only: elsewhere, and with
TSUF_RESIDENT=off, every command runs in its own process as before.

The request (PROTOCOL) is the same from this module and from the native caller
(packaging/caller/tsuf.c): a 4-byte big-endian length, then NUL-separated fields: the
protocol, the interpreter and package folder the caller would run, its working folder,
umask, argument count, the arguments, and its environment as NAME=value; descriptors 0, 1
and 2 travel beside it (SCM_RIGHTS). The server answers one byte: STARTED, RUN_HERE (a
command that owns the terminal or the process) or STALE and a line for the user to read;
after STARTED, EXITED and the status as a 4-byte big-endian int. The caller sends
INTERRUPT for Ctrl-C.
"""

import os
import struct
import sys
import zlib

# The C halves of `socket` and `signal`: their Python halves import enum and collections,
# a third of what this module exists to spare.
import _signal
import _socket

from .. import __version__
from .command_name import named_command

PROTOCOL_FAMILY = b"tsuf-resident-"  # every version takes `status` and `stop` from every other
PROTOCOL = PROTOCOL_FAMILY + b"2"
SOCKET_NAME = "resident.sock"
# Commands that own the terminal or the process: a desktop app, emulators, the server itself.
CALLER_RUNS = {"gui", "emulator", "demo", "server"}
MAX_REQUEST = 1 << 20
STARTED, EXITED, STALE, RUN_HERE, INTERRUPT = b"R", b"X", b"S", b"H", b"I"
STALE_NOTE = (b"tsuf: the resident tsuf ran other code than this tsuf and has stopped; this command runs on "
              b"its own (start it again with `tsuf server start`)\n")
ANSWER_SECONDS = 10.0  # for the server to fork and say it started; never bounds the command itself


def supported() -> bool:
    """Unix sockets that carry descriptors, and fork: Linux and macOS, not Windows."""
    return hasattr(_socket, "AF_UNIX") and hasattr(_socket, "SCM_RIGHTS") and hasattr(os, "fork")


def enabled() -> bool:
    return os.environ.get("TSUF_RESIDENT", "on") != "off" and supported()


def runtime_folder() -> str:
    """Where the socket lives: beside TSUF_HOME's folders, else the user's runtime folder."""
    home = os.environ.get("TSUF_HOME")
    if home:
        return os.path.join(home, "run")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "tsuf")
    return os.path.join("/tmp", f"tsuf-{os.getuid()}")


def socket_path() -> str:
    return os.path.join(runtime_folder(), SOCKET_NAME)


def folder_is_private(folder: str) -> bool:
    """Only this user may enter it: owned by them, no access for group or others."""
    try:
        status = os.lstat(folder)
    except OSError:
        return False
    return (os.path.isdir(folder) and not os.path.islink(folder) and status.st_uid == os.getuid()
            and status.st_mode & 0o077 == 0)


def package_folder() -> str:
    """The folder of the flasher package this process runs."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_fingerprint(folder: str | None = None) -> bytes:
    """The interpreter's and every source file's size and time (in `folder`, by default this
    package's), and TSUF's version, as on disk now: the server compares it with what it
    imported, where the system does not tell it of changes (code_watch.py)."""
    entries = [__version__]
    try:
        interpreter = os.stat(os.path.realpath(sys.executable))
        entries.append(f"{sys.executable}:{interpreter.st_size}:{interpreter.st_mtime_ns}")
    except OSError:
        entries.append(sys.executable)
    for _, sources in source_tree(folder or package_folder()):
        for entry in sources:
            status = entry.stat()
            entries.append(f"{entry.path}:{status.st_size}:{status.st_mtime_ns}")
    text = "\n".join(sorted(entries)).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(text):08x}-{zlib.adler32(text):08x}-{len(entries)}".encode()


def source_tree(root: str):
    """Each folder of the package from `root` (bytecode folders left out), with its .py entries."""
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            scan = os.scandir(folder)
        except OSError:
            continue  # a bundle keeps its modules in an archive: its executable and version say it all
        with scan:
            sources = []
            for entry in scan:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    sources.append(entry)
        yield folder, sources


def encode_request(argv: list[str]) -> bytes:
    """The command line and what it runs in: fields separated by NUL, which none can hold."""
    umask = os.umask(0)
    os.umask(umask)
    fields = [PROTOCOL, os.fsencode(sys.executable), os.fsencode(package_folder()), os.fsencode(os.getcwd()),
              b"%d" % umask, b"%d" % len(argv), *map(os.fsencode, argv),
              *(os.fsencode(k) + b"=" + os.fsencode(v) for k, v in os.environ.items())]
    body = b"\0".join(fields)
    return struct.pack(">I", len(body)) + body


def run(argv: list[str]) -> int | None:
    """The command's exit status from the resident tsuf; None when there is none to ask
    (or it runs older code), and the caller runs the command itself."""
    if not enabled() or named_command(argv) in CALLER_RUNS:
        return None
    path = socket_path()
    if not folder_is_private(os.path.dirname(path)):
        return None
    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.settimeout(ANSWER_SECONDS)
        try:
            client.connect(path)
            streams = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))]
            client.sendmsg([encode_request(argv)], streams)
            answer = client.recv(1)
        except OSError:
            return None  # no server, a stale socket, or a stream that is closed: nothing ran
        except KeyboardInterrupt:
            # A command that started stops on its own: it sees this end close, as a Ctrl-C.
            print("tsuf: interrupted", file=sys.stderr)
            return 130
        if answer == STALE:
            _print_note(client)
        if answer != STARTED:
            return None  # it did not start the command (RUN_HERE, STALE, gone): run it here
        client.settimeout(None)
        return _wait_for_exit(client)
    finally:
        client.close()


def _print_note(client: _socket.socket) -> None:
    """The server's one line on why it stopped: the caller prints it before running the command."""
    try:
        note = client.recv(1024)
    except OSError:
        return
    sys.stderr.write(note.decode("utf-8", "replace"))


def _wait_for_exit(client: _socket.socket) -> int:
    """The command runs in the server's child: relay Ctrl-C (and a polite kill) to it, and
    take its exit status."""
    previous = _signal.signal(_signal.SIGTERM, _signal.default_int_handler)
    try:
        status = b""
        while len(status) < 5:
            try:
                chunk = client.recv(5 - len(status))
            except KeyboardInterrupt:
                try:
                    client.sendall(INTERRUPT)
                except OSError:
                    break  # the child is gone: its status will not come
                continue
            if not chunk:
                break
            status += chunk
    finally:
        _signal.signal(_signal.SIGTERM, previous)
    if len(status) < 5 or status[:1] != EXITED:
        print("tsuf: the resident tsuf's command ended without an exit status", file=sys.stderr)
        return 1
    return struct.unpack(">i", status[1:])[0]


def control(word: str, timeout: float = ANSWER_SECONDS) -> bytes | None:
    """Ask the server `status` or `stop`; None when no server answers."""
    path = socket_path()
    if not enabled() or not folder_is_private(os.path.dirname(path)):
        return None
    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.settimeout(timeout)
        client.connect(path)
        body = b"\0".join([PROTOCOL, b"control", word.encode()])
        client.sendall(struct.pack(">I", len(body)) + body)
        return client.recv(4096) or None
    except OSError:
        return None
    finally:
        client.close()
