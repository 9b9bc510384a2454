"""Every `tsuf` subcommand fed hostile argument values: no traceback, ever, and bad values fail.

Values a parse-time type refuses are checked against the parser itself (exit 2). Every
other value runs the whole command in-process, in a forked child with a deadline, so a
command that hangs or crashes is reported by its argv instead of stopping the run.
No handset answers: device commands point at a closed port, so only the input is tested.
"""

import argparse
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

import pytest

from flasher.cli import arguments
from flasher.cli import main as cli

DEADLINE = 20.0
# Commands that start long-lived work when their values are valid; their typed options still run.
LONG_LIVED = {("gui",), ("emulator",), ("demo",), ("devices",)}
# Positionals and options naming something the command reads or writes.
PATHS = {"file", "package", "packages", "pem", "folder", "location", "full", "targets"}


def hostile_values(tmp: Path) -> dict[str, str]:
    return {"huge": "9" * 40, "negative": "-5", "zero": "0", "nan": "nan", "inf": "inf", "hex": "0x10",
            "empty": "", "folder": str(tmp), "dev_zero": "/dev/zero", "proc": "/proc/self/status",
            "missing": "missing/x", "control": "a\x01\x1b[2J\x7fb", "long": "x" * 5000}


# What an argument parsed by its command (not by a type) is fed; typed ones get every value, checked
# by the parser alone. TSUF_FUZZ=full feeds every value to every argument (a few minutes).
FULL = os.environ.get("TSUF_FUZZ") == "full"
PATH_VALUES = {"folder", "dev_zero", "proc", "missing", "control"}
TEXT_VALUES = {"control", "long"}
# Values that are wrong for every path a command reads or writes (where the folder may be right).
WRONG_FOR_PATHS = {"dev_zero", "missing", "control", "long", "empty"}


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subcommands(sub, prefix + (name,))
            return
    yield prefix, parser


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not action.choices and action.dest not in ("help", "version")


def base_argv(parser: argparse.ArgumentParser, skip: argparse.Action, plain: Path, tmp: Path) -> list[str]:
    """Plausible values for every required argument but `skip`."""
    argv = []
    for action in parser._actions:
        if action is skip or not (action.required or not action.option_strings) or action.dest == "help":
            continue
        value = action.choices and next(iter(action.choices)) or {
            "name": "product", "partition": "boot", "key_id": "0" * 32, "folder": str(tmp),
            "output": str(tmp / "out.zip")}.get(action.dest, str(plain))
        argv += [*action.option_strings[:1], value]
    for group in parser._mutually_exclusive_groups:  # `package build` needs one source
        if group.required and not any(action is skip for action in group._group_actions):
            argv += [group._group_actions[0].option_strings[0], str(tmp)]
    return argv


def cases(tmp: Path, plain: Path):
    """(argv, value name, the action fed) for every subcommand, value-taking argument and hostile value."""
    values = hostile_values(tmp)
    for path, parser in subcommands(cli.build_parser()):
        for action in filter(takes_value, parser._actions):
            for name, value in values.items():
                fed = [*action.option_strings[:1], value]
                yield [*path, *base_argv(parser, action, plain, tmp), *fed], name, action, path
    for name, value in values.items():  # the global handset address
        yield ["-s", value, "getvar", "product"], name, None, ("getvar",)


def names_a_path(action: argparse.Action | None) -> bool:
    return action is not None and (action.dest in PATHS or action.type in (arguments.folder, arguments.input_file))


def refused_by_type(action: argparse.Action | None, value: str) -> bool:
    if action is None or action.type is None:
        return False
    try:
        action.type(value)
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return True
    return False


def start_forked(argv: list[str], folder: Path) -> int:
    """main(argv) in a child whose current folder and TSUF_HOME are `folder`, output in folder/output.txt."""
    pid = os.fork()
    if pid:
        return pid
    code = 99  # the child: never returns into pytest
    try:
        os.chdir(folder)
        os.environ["TSUF_HOME"] = str(folder / "home")
        fd = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        try:
            code = cli.main(argv)
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else 2
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code if isinstance(code, int) else 99)


def run_all(runs: list[list[str]], root: Path, at_once: int = 4):
    """Yield (argv, exit code or None past the deadline, output) for every run, `at_once` children at a time."""
    waiting, running = list(enumerate(runs)), {}
    while waiting or running:
        while waiting and len(running) < at_once:
            number, argv = waiting.pop()
            folder = root / f"case-{number}"
            folder.mkdir()
            running[start_forked(argv, folder)] = (argv, folder, time.monotonic() + DEADLINE)
        for pid, (argv, folder, ends) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() < ends:
                continue
            if not done:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            del running[pid]
            yield argv, os.waitstatus_to_exitcode(status) if done else None, \
                (folder / "output.txt").read_text(errors="replace")
        time.sleep(0.005)


@pytest.fixture
def closed_address(monkeypatch, tmp_path):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    monkeypatch.setenv("TSUF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TSUF_DEVICE", f"tcp:127.0.0.1:{port}")
    for name in ("TSUF_CATALOG", "TSUF_BACKEND", "TSUF_HISTORY", "TSUF_TARGETS"):
        monkeypatch.delenv(name, raising=False)


def test_every_subcommand_survives_hostile_values(tmp_path, closed_address, capsys):
    work = tmp_path / "work"
    work.mkdir()
    plain = work / "plain.bin"
    plain.write_bytes(b"not what anything expects")
    for module, _ in set(cli._HANDLERS.values()) | {("device_commands", None)}:
        __import__(f"flasher.cli.{module}")  # imported once, so each forked child starts at once
    parser = cli.build_parser()
    problems, parse_checked, runs = [], 0, {}
    for argv, name, action, path in cases(work, plain):
        if refused_by_type(action, argv[-1]):
            parse_checked += 1
            with pytest.raises(SystemExit) as exited:
                parser.parse_args(argv)
            if exited.value.code != 2:
                problems.append(f"{shown(argv)}: parser exit {exited.value.code}")
        elif path not in LONG_LIVED and (FULL or name in (PATH_VALUES if names_a_path(action) else TEXT_VALUES)):
            runs[tuple(argv)] = action is not None and action.dest in PATHS and name in WRONG_FOR_PATHS
    for argv, code, output in run_all([list(argv) for argv in runs], tmp_path):
        if code is None:
            problems.append(f"{shown(argv)}: still running after {DEADLINE:g} s")
        elif "Traceback" in output:
            problems.append(f"{shown(argv)}: traceback\n{output[-1500:]}")
        elif runs[tuple(argv)] and code == 0:
            problems.append(f"{shown(argv)}: accepted (exit 0)\n{output[-500:]}")
    capsys.readouterr()
    assert not problems, f"{len(problems)} of {parse_checked + len(runs)} cases:\n" + "\n".join(problems)
    assert parse_checked > 100 and len(runs) > 50  # the walk found the commands


def shown(argv: list[str]) -> str:
    return " ".join(repr(part) if len(part) < 60 else f"'{part[:20]}...'" for part in argv)


def test_a_command_line_parses_alike_when_only_its_command_is_built(tmp_path):
    """`tsuf` builds only the named command's arguments, for start-up time; nothing may change."""
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    checked = 0
    for path, parser in subcommands(cli.build_parser()):
        for argv in (["-s", "tcp:127.0.0.1:9", "--json", *path, *base_argv(parser, None, plain, tmp_path)],
                     ["-v", *path, "--help"]):
            outcomes = []
            for built in (cli.build_parser(), cli.build_parser(cli._named_command(argv))):
                try:
                    outcomes.append(vars(built.parse_args(argv)))
                except SystemExit as exited:
                    outcomes.append(exited.code)
            assert outcomes[0] == outcomes[1], argv
            checked += 1
    assert checked > 50  # the walk found the commands


def test_help_and_version_print_alike_without_building_any_command(capsys):
    for argv in (["--help"], ["-h"], ["--json", "--help"], ["--version"], ["-s", "tcp:127.0.0.1:9", "--version"]):
        printed = []
        for built in (cli.build_parser(), cli.build_parser(cli._named_command(argv))):
            with pytest.raises(SystemExit) as exited:
                built.parse_args(argv)
            printed.append((exited.value.code, capsys.readouterr()))
        assert printed[0] == printed[1], argv
        assert cli._named_command(argv) == ""  # no command's arguments were built


def test_a_mistyped_command_still_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser(cli._named_command(["flsh"])).parse_args(["flsh"])
    error = capsys.readouterr().err
    assert "invalid choice: 'flsh'" in error and all(name in error for name in ("getvar", "update", "library"))
