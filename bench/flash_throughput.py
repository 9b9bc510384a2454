"""Flash throughput: `tsuf flash` against the AOSP `fastboot` client, side by side.

What it measures, and why: flashing a big partition is what a user waits for,
so tsuf must be no slower than the AOSP client it replaces (target: median
tsuf/AOSP wall-time ratio <= 1.0) and must stream rather than buffer images
(target: tsuf peak RSS < 120 MiB, whatever the image size: 1 GiB by default,
nearly 4 GiB with --size-mib 4095, the largest image the AOSP client handles).

How: one `tsuf emulator` handset (temporary storage, a free port) serves both
clients. For a firmware-like image (30 % content, the rest zero blocks) and a
random, incompressible one, each --size-mib large, it runs N rounds of
`fastboot flash system_a IMG` then `tsuf flash system_a IMG`, each as a fresh
subprocess. Before every flash the partition is erased, and after it the
partition's first --size-mib MiB are hashed and compared with the image, so a fast but
broken flash fails the benchmark instead of winning it. Peak RSS and client CPU time
come from GNU `/usr/bin/time -v`, or without it from a minimal Python wrapper
whose only child is the client (never this process's RUSAGE_CHILDREN, whose
ru_maxrss is the maximum over all children so far).

Prints a markdown section (or JSON with --json); exits 0 if the targets are
met, 3 if one is missed, 1 or 2 on an error. The emulator and every
temporary file are removed on exit, error, Ctrl-C or SIGTERM.

    .venv/bin/python bench/flash_throughput.py [--rounds 3] [--size-mib 1024] [--json] [--family NAME]
        [--bytecode cached|as-configured]

tsuf runs with its bytecode cached in a temporary PYTHONPYCACHEPREFIX, as after a
pip install, unless --bytecode as-configured. --family NAME starts the handset as
that device family (`tsuf emulator --family`; it flashes system_a, so a
family with slots).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flasher.virtual.sample_images import write_image

MiB = 1 << 20
TARGET_RATIO = 1.0
TARGET_RSS_MIB = 120
TARGET_MISSED = 3  # exit status: it ran, but a target was missed (1 and 2 are errors)
TSUF = str(Path(sys.executable).parent / "tsuf")  # the venv's console script
FASTBOOT = shutil.which("fastboot") or "/usr/bin/fastboot"
GNU_TIME = "/usr/bin/time"
IMAGES = (  # (name, content_fraction, seed)
    ("firmware-like (30% content)", 0.3, 1),
    ("random (incompressible)", 1.0, 2),
)


class BenchError(RuntimeError):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024, help="image size (default 1024)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per flash")
    parser.add_argument("--rss-method", choices=("auto", "time", "wrapper"), default="auto",
                        help="GNU /usr/bin/time -v (auto: if installed) or a minimal Python wrapper")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument("--family", help="device family of the handset (tsuf emulator --family)")
    parser.add_argument("--bytecode", choices=("cached", "as-configured"), default="cached",
                        help="tsuf's bytecode: cached as after a pip install (default), or the environment's")
    args = parser.parse_args()
    if args.rss_method == "auto":
        args.rss_method = "time" if os.access(GNU_TIME, os.X_OK) else "wrapper"
    # SIGTERM unwinds like Ctrl-C, so the finally blocks below always clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="tsuf-bench-"))
    if args.bytecode == "cached":
        use_cached_bytecode(work)
    emulator = None
    try:
        family = ("--family", args.family) if args.family else ()
        emulator, [(_serial, address, folder)] = start_emulator(work, "--count", "1", *family)
        results = run(args, work, address, folder / "system_a.img")
    except BenchError:
        print(f"flash_throughput: {emulator_story(emulator, work)}", file=sys.stderr)
        raise
    finally:
        if emulator is not None:
            stop(emulator)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2) if args.json else markdown(results))
    return 0 if results["targets_met"] else TARGET_MISSED


def start_emulator(work: Path, *options: str, lines: int = 1):
    """Start `tsuf emulator --tcp 0 OPTIONS` on free ports; returns (process, its first `lines` lines as
    (serialno, address, folder)). One handset on TCP unless OPTIONS say more."""
    out = work / "emulator.out"
    with open(out, "w") as stdout, open(work / "emulator.log", "w") as stderr:
        proc = subprocess.Popen([TSUF, "emulator", "--tcp", "0", *options, "--storage", str(work / "handsets")],
                                stdout=stdout, stderr=stderr)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = [line.rstrip("\n").split("\t") for line in out.read_text().splitlines(keepends=True)
                if line.endswith("\n")]
        if len(rows) >= lines:
            return proc, [(serial, address, Path(folder)) for serial, address, folder in rows[:lines]]
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop(proc)
    raise BenchError(f"the emulator did not start: {(work / 'emulator.log').read_text()[-2000:]}")


def use_cached_bytecode(work: Path) -> None:
    """Child processes keep compiled bytecode in `work`, as an installed tsuf keeps it in site-packages.

    Without this, an environment with PYTHONDONTWRITEBYTECODE makes every tsuf run
    compile flasher's source first: a cost no installed tsuf pays.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")


def emulator_story(emulator: subprocess.Popen | None, work: Path) -> str:
    """The handset's side of a failed benchmark: whether it still runs, and its log's end."""
    if emulator is None:
        return "the emulator did not start"
    state = "running" if emulator.poll() is None else f"exited {emulator.returncode}"
    return f"emulator {state}; its log ends:\n{(work / 'emulator.log').read_text()[-3000:]}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args, work: Path, address: str, partition: Path) -> dict:
    size = args.size_mib * MiB
    images = []
    for name, fraction, seed in IMAGES:
        image = work / "image.img"
        write_image(image, size, seed=seed, content_fraction=fraction)
        expected = sha256_prefix(image, size)
        clients = {
            "aosp": [FASTBOOT, "-s", address, "flash", "system_a", str(image)],
            "tsuf": [TSUF, "-s", address, "--json", "flash", "system_a", str(image)],
        }
        runs = {client: [] for client in clients}
        for round_number in range(args.rounds):
            # Alternate who goes first: a flash leaves the handset's disk busy for the next one.
            order = list(clients.items())[::-1 if round_number % 2 else 1]
            for client, command in order:
                measured(args, work, [TSUF, "-s", address, "erase", "system", "--slot", "a"])
                seconds, cpu, rss_kib, out, err = measured(args, work, command)
                if sha256_prefix(partition, size) != expected:
                    raise BenchError(f"{client} flash of {name} left system_a different from the image")
                pieces = (json.loads(out)["pieces"] if client == "tsuf"
                          else len(re.findall(r"^Sending sparse", err, re.M)) or 1)
                runs[client].append({"seconds": round(seconds, 3), "cpu_s": round(cpu, 2),
                                     "rss_mib": round(rss_kib / 1024, 1),
                                     "pieces": pieces})
        image.unlink()
        summary = {client: {"median_s": statistics.median(r["seconds"] for r in rs),
                            "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
                            "peak_rss_mib": max(r["rss_mib"] for r in rs), "rounds": rs}
                   for client, rs in runs.items()}
        summary["ratio"] = round(summary["tsuf"]["median_s"] / summary["aosp"]["median_s"], 3)
        images.append({"image": name, "content_fraction": fraction, **summary})
    ratio = max(i["ratio"] for i in images)
    rss = max(i["tsuf"]["peak_rss_mib"] for i in images)
    return {
        "benchmark": "flash_throughput", "image_bytes": size, "rounds": args.rounds,
        "rss_method": "/usr/bin/time -v" if args.rss_method == "time" else
                      f"a Python wrapper's RUSAGE_CHILDREN (floor: the wrapper's "
                      f"{args.rss_floor_kib / 1024:.1f} MiB; figures at the floor are upper bounds)",
        "fastboot": fastboot_version(), "images": images, "bytecode": args.bytecode, "family": args.family,
        "targets": [
            {"target": f"tsuf/AOSP median time ratio <= {TARGET_RATIO}", "value": ratio,
             "met": ratio <= TARGET_RATIO},
            {"target": f"tsuf peak RSS < {TARGET_RSS_MIB} MiB", "value": rss, "met": rss < TARGET_RSS_MIB},
        ],
        "targets_met": ratio <= TARGET_RATIO and rss < TARGET_RSS_MIB,
    }


# Without GNU time: a minimal interpreter runs the client as its only child and
# reports RUSAGE_CHILDREN, which then is that one child's. Not os.wait4() from
# here: Linux carries the pre-exec RSS of the forking process into the child's
# ru_maxrss, so this (larger) process's RSS would mask the client's. The
# wrapper's own RSS is that floor instead, and is reported with the figure.
RUSAGE_WRAPPER = """
import os, resource, sys
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
status = os.waitpid(pid, 0)[1]
child, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as f:
    f.write(f"{child.ru_maxrss} {child.ru_utime + child.ru_stime} {me.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured(args, work: Path, command: list[str]) -> tuple[float, float, int, str, str]:
    """Run `command`; returns (wall seconds, CPU seconds, peak RSS in KiB, stdout, stderr).

    The command runs under `timeout` in a session of its own: an overrun, or
    an error here, kills the whole group.
    """
    report = work / "rusage.txt"
    if args.rss_method == "time":
        meter = [GNU_TIME, "-v", "-o", str(report)]
    else:
        meter = [sys.executable, "-I", "-S", "-c", RUSAGE_WRAPPER, str(report)]
    with tempfile.TemporaryFile("w+", dir=work) as out, tempfile.TemporaryFile("w+", dir=work) as err:
        started = time.perf_counter()
        proc = subprocess.Popen(["timeout", "-k", "5", str(args.timeout), *meter, *command],
                                stdout=out, stderr=err, text=True, start_new_session=True)
        try:
            proc.wait()
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited {proc.returncode}: {stderr[-2000:]}")
    text = report.read_text()
    if args.rss_method == "time":
        field = lambda name: float(re.search(rf"{name}: ([\d.]+)", text).group(1))  # noqa: E731
        cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
        return seconds, cpu, int(field(r"Maximum resident set size \(kbytes\)")), stdout, stderr
    rss, cpu, floor = text.split()
    args.rss_floor_kib = max(getattr(args, "rss_floor_kib", 0), int(floor))
    return seconds, float(cpu), int(rss), stdout, stderr


def sha256_prefix(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(8 * MiB)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        left = size
        while left:
            n = f.readinto(view[:min(len(buffer), left)])
            if not n:
                break  # shorter than `size`: the digest will differ
            digest.update(view[:n])
            left -= n
    return digest.hexdigest()


def fastboot_version() -> str:
    out = subprocess.run([FASTBOOT, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def markdown(r: dict) -> str:
    lines = [
        f"## Flash throughput: tsuf vs AOSP fastboot, {r['image_bytes'] // MiB} MiB",
        "",
        f"{r['image_bytes'] // MiB} MiB image flashed to `system_a` of one `tsuf emulator` handset "
        f"over TCP on localhost, {r['rounds']} alternating rounds per image, each flash a fresh process, "
        f"partition erased before and verified (SHA-256) after every flash. AOSP client: {r['fastboot']}. "
        f"RSS from {r['rss_method']}. "
        + ("tsuf's bytecode cached, as after a pip install." if r["bytecode"] == "cached"
           else "tsuf's bytecode as the environment has it.")
        + (f" Handset family: {r['family']}." if r["family"] else ""),
        "",
        "| image | AOSP median (s) | tsuf median (s) | tsuf/AOSP | tsuf MiB/s | tsuf peak RSS (MiB) "
        "| AOSP peak RSS (MiB) | client CPU s AOSP / tsuf | pieces AOSP / tsuf |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i in r["images"]:
        a, t = i["aosp"], i["tsuf"]
        lines.append(
            f"| {i['image']} | {a['median_s']:.2f} | {t['median_s']:.2f} | **{i['ratio']:.2f}** "
            f"| {r['image_bytes'] / MiB / t['median_s']:.0f} | {t['peak_rss_mib']:.1f} "
            f"| {a['peak_rss_mib']:.1f} | {a['median_cpu_s']:.2f} / {t['median_cpu_s']:.2f} "
            f"| {a['rounds'][0]['pieces']} / {t['rounds'][0]['pieces']} |")
    lines += ["", "Every round (seconds):", ""]
    for i in r["images"]:
        for client in ("aosp", "tsuf"):
            times = ", ".join(f"{x['seconds']:.2f}" for x in i[client]["rounds"])
            lines.append(f"- {i['image']}, {client}: {times}")
    return "\n".join(lines + targets_markdown(r["targets"])) + "\n"


def targets_markdown(targets: list[dict]) -> list[str]:
    """The targets table every benchmark ends its section with."""
    return ["", "| target | measured | met |", "|---|---|---|"] + [
        f"| {t['target']} | {t['value']} | {'met' if t['met'] else '**not met**'} |" for t in targets]


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"flash_throughput: {error}", file=sys.stderr)
        sys.exit(2)
