"""Flash over every link: the same image over TCP, UDP, emulated USB and pty serial,
and the AOSP `fastboot` client over TCP and UDP, in one run.

What it measures, and why: tsuf speaks fastboot over four links, and a user
flashing a 512 MiB system image waits for whichever one the handset has. This
shows what each link costs (seconds, MiB/s, peak RSS of the tsuf client) and,
where the AOSP client speaks the same link (TCP, UDP), how tsuf compares with
it measured side by side. There is no target; the figures are for reference.

How: one image (default: an ext4 system image of real installed software,
bench/realistic_images.py; --image firmware or random for synthetic ones; default
512 MiB) and one `tsuf emulator --tcp 0 --udp 0 --serial --count 2` process
(temporary storage, free ports). The storage, and the image, are in memory (/dev/shm)
where it has room, else on disk (--on-disk forces it): a handset's write already takes
the modelled device's time, and this machine's disk added its own, varying, on top. Handset VH000001 takes the TCP and UDP
flashes of both clients; VH000002 takes the serial ones, because a handset in
serial download mode keeps its session after the host closes the port (until
it reboots, or an hour idle), which would lock TCP and UDP hosts out of it.
USB is emulated in-process only (VirtualUsbBus), so `bench/usb_flash_helper.py`
runs a handset, the bus and a FastbootDevice in one Python process and times
open + flash + close inside it.

Every flash is a fresh process: `fastboot -s ADDR flash system_a IMG`,
`tsuf -s ADDR --json flash system_a IMG` (its own timer excludes interpreter
start-up) or the USB helper. Before each one the partition is erased
(untimed: over TCP for VH000001, which also waits out a UDP host's 1 s park;
over serial for VH000002; inside the helper for USB; on a device that refuses
`erase`, as barebox does, a `getvar` waits out the park and the bench zeroes the
partition's file itself), and after it the
partition's first SIZE bytes are hashed (SHA-256) and compared with the image.
Rounds alternate which client goes first on TCP and UDP, so drift on a shared
machine hits both. Peak RSS and CPU come from GNU `/usr/bin/time -v` (or the
wrapper of flash_throughput.py); for USB they are those of the helper, i.e.
client and virtual handset together.

Bounded run: each link is first probed with a 32 MiB flash (also a warm-up);
if the probe's rate says a link would need more than --budget seconds
(default 180) per flash at --size-mib, that link is measured with the largest
power-of-two size that fits, and its rows say so.

Options for a narrower, side-by-side comparison: --links picks the links
(e.g. `tcp,udp`, the two where the AOSP client runs too), --image random
flashes incompressible data instead (every byte travels, so the link and the
client's per-byte cost decide), and --family NAME starts the handsets as that
device family (`tsuf emulator --family`; a slotless family such as uboot gets
`system`, one with slots `system_a`, unless --partition says otherwise).
--families A,B,... measures each family in turn, each on a fresh emulator, and
prints one side-by-side table of all of them. --cost-scale N starts the
handsets with the profile's cost_scale N, so they take as long as the modelled
device for its commands and writes (1; docs/real-handsets.md); the default 0
answers at once, which measures the clients and the link alone. tsuf runs
with its bytecode cached in a temporary PYTHONPYCACHEPREFIX, as after a pip
install (--bytecode as-configured inherits the environment, which may set
PYTHONDONTWRITEBYTECODE and make every run compile flasher's source). Each row
gives the median and the best round; the best is the figure least disturbed by
other work on the machine.

Prints a markdown section (or JSON with --json); exits 0, or 1 or 2 on an
error. The emulator and every temporary file are removed on exit, error,
Ctrl-C or SIGTERM.

    .venv/bin/python bench/flash_links.py [--rounds 2] [--size-mib 512] [--budget 180] [--json]
        [--links tcp,udp,usb,serial] [--image system|firmware|random] [--family NAME | --families A,B,...]
        [--cost-scale 0] [--partition system_a] [--bytecode cached|as-configured]
"""

import argparse
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from flash_throughput import (FASTBOOT, GNU_TIME, TSUF, BenchError, emulator_story, fastboot_version, measured,
                              sha256_prefix, start_emulator, stop, use_cached_bytecode)

from realistic_images import ext4_system_image

from flasher.virtual.families import FAMILY_NAMES, family_named
from flasher.virtual.profile import default_profile
from flasher.virtual.sample_images import write_image

MiB = 1 << 20
PROBE_MIB = 32
SEED = 1
IMAGES = {  # --image: (content fraction, how the doc names it); system is made of real files instead
    "system": (None, "ext4 system image of real installed software (70% full, bench/realistic_images.py)"),
    "firmware": (0.3, "firmware-like image (30% content, the rest zero blocks)"),
    "random": (1.0, "random, incompressible image"),
}
LINKS = ("tcp", "udp", "usb", "serial")
HELPER = str(Path(__file__).with_name("usb_flash_helper.py"))
USB_SERIAL = "VU000001"
NET_HANDSET, SERIAL_HANDSET = "VH000001", "VH000002"
# (link, client): the rows, in table order
RUNS = (("tcp", "aosp"), ("tcp", "tsuf"), ("udp", "aosp"), ("udp", "tsuf"), ("usb", "tsuf"), ("serial", "tsuf"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size-mib", type=int, default=512, help="image size (default 512)")
    parser.add_argument("--budget", type=float, default=180,
                        help="seconds a link may take per flash before it gets a smaller image (default 180)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per flash")
    parser.add_argument("--rss-method", choices=("auto", "time", "wrapper"), default="auto",
                        help="GNU /usr/bin/time -v (auto: if installed) or a minimal Python wrapper")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument("--links", default=",".join(LINKS), help="links to measure, comma-separated (default: all)")
    parser.add_argument("--image", choices=tuple(IMAGES), default="system", help="image content (default system)")
    parser.add_argument("--family", choices=FAMILY_NAMES, help="device family of the handsets (tsuf emulator --family)")
    parser.add_argument("--families", help="families to measure one after another, comma-separated (one table)")
    parser.add_argument("--cost-scale", type=float, default=0.0,
                        help="the handsets' cost_scale: 1 takes as long as the modelled device (default 0: at once)")
    parser.add_argument("--partition",
                        help="partition to flash (default: system_a, or system on a family without slots)")
    parser.add_argument("--bytecode", choices=("cached", "as-configured"), default="cached",
                        help="tsuf's bytecode: cached as after a pip install (default), or the environment's")
    parser.add_argument("--resident", action="store_true",
                        help="tsuf runs through its resident server (`tsuf server start`), as a station keeps it")
    parser.add_argument("--on-disk", action="store_true",
                        help="keep the handsets' storage on disk even where memory (/dev/shm) has room")
    args = parser.parse_args()
    args.links = tuple(link for link in LINKS if link in args.links.split(","))
    if not args.links:
        parser.error(f"--links names none of {', '.join(LINKS)}")
    if args.size_mib < PROBE_MIB:
        parser.error(f"--size-mib must be at least {PROBE_MIB}")
    if args.family and args.families:
        parser.error("--family and --families: give one")
    families = args.families.split(",") if args.families else [args.family]
    unknown = [name for name in families if name not in (None, *FAMILY_NAMES)]
    if unknown:
        parser.error(f"--families: unknown {', '.join(unknown)} (one of {', '.join(FAMILY_NAMES)})")
    if args.families and not {"tcp", "udp"} & set(args.links):
        parser.error("--families compares the clients side by side: --links must include tcp or udp")
    if not 0 <= args.cost_scale <= 100:
        parser.error("--cost-scale must be from 0 to 100")
    if args.rss_method == "auto":
        args.rss_method = "time" if os.access(GNU_TIME, os.X_OK) else "wrapper"
    # SIGTERM unwinds like Ctrl-C, so the finally blocks below always clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.memory = None if args.on_disk else memory_folder(args.size_mib)
    work = Path(tempfile.mkdtemp(prefix="tsuf-bench-links-", dir=args.memory))
    if args.bytecode == "cached":
        use_cached_bytecode(work)
    images: dict[int, tuple[Path, str]] = {}  # MiB -> (file, sha256), shared by the families
    try:
        if args.resident:
            start_resident(work)
        results = [measure_family(args, work, family, images) for family in families]
    finally:
        if args.resident:
            subprocess.run([TSUF, "server", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    if args.families:
        summary = {"benchmark": "flash_links_families", "command": command_line(), "families": results}
        print(json.dumps(summary, indent=2) if args.json else families_markdown(summary))
    else:
        print(json.dumps(results[0], indent=2) if args.json else markdown(results[0]))
    return 0


def memory_folder(size_mib: int) -> str | None:
    """/dev/shm where it has room for the image and both handsets' copies, else None (disk).

    At cost_scale 1 a handset already takes its modelled write time; on disk, this machine's
    own writes and fsync of the same bytes came on top, varying by a tenth from one flash to
    the next for either client.
    """
    folder = "/dev/shm"
    try:
        room = os.path.isdir(folder) and os.access(folder, os.W_OK) and \
            shutil.disk_usage(folder).free > (8 * size_mib + 1024) << 20
    except OSError:
        return None
    return folder if room else None


def start_resident(work: Path) -> None:
    """A resident tsuf of the bench's own (its TSUF_HOME), started before the first flash."""
    home = work / "home"
    home.mkdir(mode=0o700)
    os.environ["TSUF_HOME"] = str(home)
    subprocess.run([TSUF, "server", "start"], check=True, capture_output=True, timeout=120)


def measure_family(args, work: Path, family: str | None, images: dict) -> dict:
    """Start an emulator of `family` (None: the default), run every flash on it, stop it."""
    options = ["--udp", "0", "--serial", "--count", "2"]
    if family:
        options += ["--family", family]
    if args.cost_scale:
        profile = work / "profile.json"
        costed = dataclasses.replace(default_profile(NET_HANDSET), cost_scale=args.cost_scale)
        profile.write_text(json.dumps(costed.to_dict()))
        options += ["--profile", str(profile)]
    slots = family_named(family or "reference").slots
    partition = args.partition or ("system_a" if slots else "system")
    emulator = None
    try:
        # Two handsets on TCP, UDP and serial: six lines, by (serialno, scheme).
        emulator, rows = start_emulator(work, *options, lines=6)
        lines = {(serial, address.split(":")[0]): (address, folder) for serial, address, folder in rows}
        return Bench(args, work, lines, family, partition, images).run()
    except BenchError:
        print(f"flash_links: {emulator_story(emulator, work)}", file=sys.stderr)
        raise
    finally:
        if emulator is not None:
            stop(emulator)
        shutil.rmtree(work / "handsets", ignore_errors=True)  # the next family starts with fresh storage


def command_line() -> str:
    """This run's command, as a reader would type it from the repository root."""
    return " ".join([".venv/bin/python", "bench/flash_links.py", *sys.argv[1:]])


class Bench:
    def __init__(self, args, work: Path, lines: dict, family: str | None, partition: str, images: dict):
        self.args, self.work, self.family = args, work, family
        self.tcp, net_folder = lines[(NET_HANDSET, "tcp")]
        self.udp, _ = lines[(NET_HANDSET, "udp")]
        self.serial, serial_folder = lines[(SERIAL_HANDSET, "serial")]
        self.usb_folder = work / "usb-handset"
        self.partitions = {"tcp": net_folder, "udp": net_folder, "serial": serial_folder,
                           "usb": self.usb_folder}
        self.partition = partition
        self.partitions = {link: folder / f"{partition}.img" for link, folder in self.partitions.items()}
        self.images = images  # MiB -> (file, sha256)
        self.erases = True  # False once the device refuses `erase`: the bench then clears the partition's file

    def image(self, mib: int) -> tuple[Path, str]:
        if mib not in self.images:
            path = self.work / f"image-{mib}.img"
            content = IMAGES[self.args.image][0]
            if content is None:
                ext4_system_image(path, mib)
            else:
                write_image(path, mib * MiB, seed=SEED, content_fraction=content)
            self.images[mib] = (path, sha256_prefix(path, mib * MiB))
        return self.images[mib]

    def erase(self, link: str) -> None:
        if link == "usb":
            return  # the helper erases before it starts its clock
        address = self.serial if link == "serial" else self.tcp
        if self.erases:
            try:
                measured(self.args, self.work, [TSUF, "-s", address, "erase", self.partition])
                return
            except BenchError as error:
                if "device refused" not in str(error):
                    raise
                self.erases = False  # barebox's eMMC driver cannot erase
        # Wait out a UDP host's park with a harmless command, then clear the partition's file.
        measured(self.args, self.work, [TSUF, "-s", address, "getvar", "product"])
        with open(self.partitions[link], "r+b") as partition:
            for _ in range(max(self.images) * MiB // (8 * MiB)):
                partition.write(bytes(8 * MiB))

    def flash(self, link: str, client: str, mib: int) -> dict:
        """Erase, flash (timed), verify; returns the run's figures."""
        image, expected = self.image(mib)
        self.erase(link)
        address = {"tcp": self.tcp, "udp": self.udp, "serial": self.serial}.get(link)
        if client == "aosp":
            command = [FASTBOOT, "-s", address, "flash", self.partition, str(image)]
        elif link == "usb":
            command = [sys.executable, HELPER, str(self.usb_folder), USB_SERIAL, self.partition, str(image)]
        else:
            command = [TSUF, "-s", address, "--json", "flash", self.partition, str(image)]
        seconds, cpu, rss_kib, out, _err = measured(self.args, self.work, command)
        if sha256_prefix(self.partitions[link], mib * MiB) != expected:
            raise BenchError(f"{client} flash over {link} left {self.partition} different from the image")
        inner = json.loads(out)["seconds"] if client == "tsuf" else None
        return {"seconds": round(seconds, 3), "flash_s": inner, "cpu_s": round(cpu, 2),
                "rss_mib": round(rss_kib / 1024, 1)}

    def run(self) -> dict:
        args = self.args
        sizes, probes = {}, {}
        for link in args.links:  # probe (and warm up) each link, tsuf then AOSP
            probe = self.flash(link, "tsuf", PROBE_MIB)
            probes[link] = probe["seconds"]
            if link in ("tcp", "udp"):
                self.flash(link, "aosp", PROBE_MIB)
            projected = probe["seconds"] * args.size_mib / PROBE_MIB
            mib = args.size_mib
            while mib > PROBE_MIB and probe["seconds"] * mib / PROBE_MIB > args.budget:
                mib = 1 << (mib.bit_length() - 1) if mib & (mib - 1) else mib // 2
            sizes[link] = {"mib": mib, "projected_full_s": round(projected, 1)}
        wanted = [(link, client) for link, client in RUNS if link in args.links]
        runs = {key: [] for key in wanted}
        for round_ in range(args.rounds):
            for link in ("tcp", "udp"):  # side by side, alternating who goes first
                if link not in args.links:
                    continue
                order = ("aosp", "tsuf") if round_ % 2 == 0 else ("tsuf", "aosp")
                for client in order:
                    runs[(link, client)].append(self.flash(link, client, sizes[link]["mib"]))
            for link in ("usb", "serial"):
                if link in args.links:
                    runs[(link, "tsuf")].append(self.flash(link, "tsuf", sizes[link]["mib"]))
        rows = []
        for link, client in wanted:
            rs = runs[(link, client)]
            mib = sizes[link]["mib"]
            wall = statistics.median(r["seconds"] for r in rs)
            inner = [r["flash_s"] for r in rs if r["flash_s"] is not None]
            flash_s = statistics.median(inner) if inner else None
            timed = flash_s if link == "usb" else wall  # USB: only the in-process time is the client's
            rows.append({
                "link": link, "client": client, "image_mib": mib, "reduced": mib != args.size_mib,
                "median_s": round(timed, 3), "mib_per_s": round(mib / timed, 1),
                "median_wall_s": round(wall, 3), "best_wall_s": min(r["seconds"] for r in rs),
                "median_flash_s": None if flash_s is None else round(flash_s, 3),
                "flash_mib_per_s": None if flash_s is None else round(mib / flash_s, 1),
                "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
                "peak_rss_mib": max(r["rss_mib"] for r in rs), "rounds": rs,
            })
        by = {(r["link"], r["client"]): r for r in rows}
        both = [link for link in ("tcp", "udp") if link in args.links]
        ratios = {link: round(by[(link, "tsuf")]["median_wall_s"] / by[(link, "aosp")]["median_wall_s"], 3)
                  for link in both}
        best_ratios = {link: round(by[(link, "tsuf")]["best_wall_s"] / by[(link, "aosp")]["best_wall_s"], 3)
                       for link in both}
        return {
            "benchmark": "flash_links", "requested_mib": args.size_mib, "rounds": args.rounds,
            "budget_s": args.budget, "probe_mib": PROBE_MIB, "probe_s": probes, "sizes": sizes,
            "image": args.image, "image_name": IMAGES[args.image][1], "links": args.links,
            "family": self.family, "cost_scale": args.cost_scale, "bytecode": args.bytecode,
            "resident": args.resident and caller_kind(), "partition": self.partition,
            "handset_storage": f"memory ({args.memory})" if args.memory else "disk",
            "rss_method": "/usr/bin/time -v" if args.rss_method == "time" else
                          f"a Python wrapper's RUSAGE_CHILDREN (floor: the wrapper's "
                          f"{args.rss_floor_kib / 1024:.1f} MiB; figures at the floor are upper bounds)",
            "fastboot": fastboot_version(), "rows": rows, "ratios": ratios, "best_ratios": best_ratios,
        }


def markdown(r: dict) -> str:
    reduced = [f"{link} at {s['mib']} MiB (a {r['requested_mib']} MiB flash projected at "
               f"{s['projected_full_s']:.0f} s)" for link, s in r["sizes"].items() if s["mib"] != r["requested_mib"]]
    links = r["links"]
    all_links = tuple(links) == LINKS
    family = f" ({r['family']} family)" if r["family"] else ""
    title = ", ".join(link.upper() if link in ("tcp", "udp") else link for link in links)
    lines = [
        "## Flash over each link: " + ("TCP, UDP, USB, serial" if all_links else f"{title}, {r['image']} image")
        + family,
        "",
        f"One {r['image_name']} flashed to `{r['partition']}` of a `tsuf emulator --tcp 0 --udp 0 --serial --count 2"
        + (f" --family {r['family']}" if r["family"] else "") + f"` on localhost: TCP and UDP on "
        f"{NET_HANDSET}, serial (pty, clean line) on {SERIAL_HANDSET} (a serial session keeps its "
        "handset until it has been idle for 10 s). USB is the in-process VirtualUsbBus, so its client "
        "runs in a helper process with the handset (`bench/usb_flash_helper.py`). "
        f"{r['rounds']} rounds after a {r['probe_mib']} MiB warm-up per link; TCP and UDP alternate which "
        "client goes first. Each flash a fresh process, the partition erased before and verified "
        f"(SHA-256) after every flash. AOSP client: {r['fastboot']}. RSS from {r['rss_method']}. "
        + ("tsuf's bytecode cached, as after a pip install." if r["bytecode"] == "cached"
           else "tsuf's bytecode as the environment has it (PYTHONDONTWRITEBYTECODE compiles every run).")
        + resident_story(r["resident"]) + cost_story(r["cost_scale"], r["handset_storage"]),
        "",
        f"Image: {r['requested_mib']} MiB"
        + (f"; reduced to keep each flash under {r['budget_s']:g} s: " + "; ".join(reduced) if reduced
           else f" on every link (each projected under {r['budget_s']:g} s)") + ".",
        "",
        "Seconds and MiB/s are the median wall time of the client process, start-up included, except for "
        "USB, where they are the helper's in-process open + flash + close. \"tsuf flash only\" is tsuf's own "
        "timer (`--json` `seconds`: open, flash, no interpreter start-up), comparable with the USB row. "
        "tsuf/AOSP compares median wall times, and best with best.",
        "",
        "| link | client | image (MiB) | median (s) | best (s) | MiB/s | tsuf flash only (s) | MiB/s "
        "| peak RSS (MiB) | client CPU (s) | tsuf/AOSP median | best |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        tsuf_row = row["client"] == "tsuf"
        ratio = r["ratios"].get(row["link"]) if tsuf_row else None
        best = r["best_ratios"].get(row["link"]) if tsuf_row else None
        flash_only = ("—", "—") if row["median_flash_s"] is None else (
            f"{row['median_flash_s']:.2f}", f"{row['flash_mib_per_s']:.0f}")
        rss = f"{row['peak_rss_mib']:.1f}" + (" (client + handset)" if row["link"] == "usb" else "")
        lines.append(
            f"| {row['link']} | {row['client']} | {row['image_mib']} | {row['median_s']:.2f} "
            f"| {row['best_wall_s']:.2f} | {row['mib_per_s']:.0f} | {flash_only[0]} | {flash_only[1]} | {rss} "
            f"| {row['median_cpu_s']:.2f} | {f'**{ratio:.2f}**' if ratio is not None else ''} "
            f"| {f'**{best:.2f}**' if best is not None else ''} |")
    lines += ["", "Every round, wall seconds of the client process (tsuf's own flash timer in brackets; for USB "
              "the helper's whole run, handset start-up and erase included, then its in-process timer):", ""]
    for row in r["rows"]:
        times = ", ".join(f"{x['seconds']:.2f}" + (f" ({x['flash_s']:.2f})" if x["flash_s"] is not None else "")
                          for x in row["rounds"])
        lines.append(f"- {row['link']}, {row['client']}: {times}")
    return "\n".join(lines) + "\n"


def cost_story(scale: float, storage: str = "disk") -> str:
    where = f" The handsets' storage is on {storage}." if storage == "disk" else \
        f" The handsets' storage is in {storage}, so a write costs the modelled time and not this machine's disk."
    if not scale:
        return " Device costs off (cost_scale 0): the handset answers at once." + where
    return (f" Device costs on (cost_scale {scale:g}): each command and write takes the modelled device's "
            "time (docs/real-handsets.md)." + where)


def caller_kind() -> str:
    """Which `tsuf` ran: the native caller (packaging/build_caller.py) or pip's Python script."""
    with open(TSUF, "rb") as program:
        return "python" if program.read(2) == b"#!" else "native"


def resident_story(resident: str | bool) -> str:
    if not resident:
        return ""
    caller = ("the native caller (`packaging/build_caller.py`)" if resident == "native"
              else "the Python caller (pip's `tsuf` script)")
    return (f" tsuf ran through its resident server (`tsuf server start`, started once before the first flash): "
            f"each `tsuf` is still a fresh process, {caller}, which hands the command to a warm fork.")


def families_markdown(summary: dict) -> str:
    """One table: per family and link, tsuf beside the AOSP client."""
    results = summary["families"]
    first = results[0]
    links = [link for link in first["links"] if link in ("tcp", "udp")]
    lines = [
        "## tsuf against the AOSP client per device family: " + ", ".join(link.upper() for link in links)
        + f", {first['image']} image",
        "",
        f"`{summary['command']}`",
        "",
        f"One {first['image_name']} of {first['requested_mib']} MiB (seed {SEED}) flashed by each client in turn "
        "to a `tsuf emulator --family NAME --tcp 0 --udp 0` handset, one fresh emulator per family, every "
        f"flash a fresh process, the partition erased before and verified (SHA-256) after. {first['rounds']} "
        f"rounds per family and link after a {first['probe_mib']} MiB warm-up of each client; the rounds "
        "alternate which client goes first. AOSP client: "
        f"{first['fastboot']}." + resident_story(first["resident"]) + cost_story(first["cost_scale"], first["handset_storage"]),
        "",
        "Seconds are the client process's wall time, start-up included (tsuf's own flash timer, without "
        "interpreter start-up, in the rounds below). tsuf/AOSP compares median with median and best with best.",
        "",
        "| family | partition | link | image (MiB) | AOSP median (s) | tsuf median (s) | AOSP best (s) "
        "| tsuf best (s) | tsuf/AOSP median | best |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        by = {(row["link"], row["client"]): row for row in r["rows"]}
        for link in links:
            aosp, tsuf = by[(link, "aosp")], by[(link, "tsuf")]
            lines.append(
                f"| {r['family'] or 'reference'} | `{r['partition']}` | {link} | {tsuf['image_mib']} "
                f"| {aosp['median_wall_s']:.2f} | {tsuf['median_wall_s']:.2f} | {aosp['best_wall_s']:.2f} "
                f"| {tsuf['best_wall_s']:.2f} | **{r['ratios'][link]:.2f}** | **{r['best_ratios'][link]:.2f}** |")
    lines += ["", "Every round, wall seconds (tsuf's own flash timer in brackets):", ""]
    for r in results:
        for row in r["rows"]:
            times = ", ".join(f"{x['seconds']:.2f}" + (f" ({x['flash_s']:.2f})" if x["flash_s"] is not None else "")
                              for x in row["rounds"])
            lines.append(f"- {r['family'] or 'reference'}, {row['link']}, {row['client']}: {times}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"flash_links: {error}", file=sys.stderr)
        sys.exit(2)
