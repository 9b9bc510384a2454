"""The bootloader verbs a technician types, as the stock fastboot client has them: oem, flashing,
boot, continue, wipe (-w), flashall. Each opens one handset with `device_commands`' rules."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..fastboot import DATA_CHUNK, FastbootDevice, ImageTooLarge, NoSuchPartition
from ..lp import NoSpaceInSuper
from ..lp.super_image import sized_layout, write_super_image
from ..package.factory import FASTBOOT_INFO
from ..package.fastboot_info import MAX_FASTBOOT_INFO_BYTES, parse_fastboot_info
from ..package.manifest import SUPER_EMPTY
from ..sparse import expand, is_sparse
from ..update import dynamic
from ..update.dynamic import DoesNotFitSuper, SuperLayout
from ..device_text import printable
from ..errors import FlasherError
from ..package.android_info import MAX_ANDROID_INFO_BYTES, judge, parse_android_info
from ..transfer_rate import human_bytes
from .device_commands import emit, limits_text, open_device, print_device_message
from .progress import progress_bar

# What `flashing` does to the user's data, said before the handset is asked.
ERASES_DATA = {"unlock": "unlocking the bootloader", "lock": "locking the bootloader",
               "unlock_critical": "unlocking the bootloader's critical partitions",
               "lock_critical": "locking the bootloader's critical partitions"}
# What `-w` erases, as the stock client does: user data, and cache on handsets that still have one.
WIPED = ("userdata", "cache", "metadata")
# A build's images for the slot not flashed: system_other.img holds the other slot's system.
OTHER = "_other"
# File systems `format` can make on this computer.
FILE_SYSTEMS = ("ext4",)


class NoImages(FlasherError):
    hint = ("Give the folder of images (boot.img, system.img...) built for this handset, or set "
            "$ANDROID_PRODUCT_OUT to it.")


class CannotFormat(FlasherError):
    hint = "Give the file system with --fs-type ext4, or erase the partition instead (`tsuf erase`)."


class DynamicPartitionsFolder(FlasherError):
    hint = ("Reboot the phone to its bootloader (`tsuf reboot bootloader`) and run flashall again; or zip the "
            "folder's images with its android-info.txt and run `tsuf update IMAGES.zip --unsigned-factory-images`, "
            "which writes them into the inactive slot through fastbootd, as `fastboot update` does.")


class WrongProduct(FlasherError):
    hint = "These images are built for another product: flash the images built for this handset."


def run_oem(device: FastbootDevice, args) -> int:
    text = "oem " + " ".join(args.words)
    answer = device.command(text, on_info=print_device_message)
    emit(args, {"command": text, "answer": answer}, f"{printable(text, None)}: OKAY {printable(answer, None)}".rstrip())
    return 0


def run_flashing(device: FastbootDevice, args) -> int:
    if args.action in ERASES_DATA:
        print(f"tsuf: warning: {ERASES_DATA[args.action]} erases all the user's data on the handset "
              "(photos, apps, accounts); the handset may ask to confirm on its screen with its volume and power keys",
              file=sys.stderr)
    answer = device.command(f"flashing {args.action}", on_info=print_device_message)
    emit(args, {"flashing": args.action, "answer": answer}, f"flashing {args.action}: OKAY {printable(answer, None)}"
         .rstrip())
    return 0


def run_boot(device: FastbootDevice, args) -> int:
    """Send an image and boot it once (RAM only); nothing is written to the handset."""
    image = Path(args.file)
    size = image.stat().st_size
    limit = device.max_download_size()
    if size > limit:  # refused before any byte goes: the handset would refuse the download
        raise ImageTooLarge(f"{image} is {human_bytes(size)}; the handset takes at most {human_bytes(limit)} "
                            "in one download", hint="`boot` sends the image in one piece: give a smaller boot image.")
    with progress_bar(f"boot {image.name}", limits_text(device.timeouts, "download:"), "sent") as bar, \
            open(image, "rb") as file:
        device.download(size, iter(lambda: file.read(DATA_CHUNK), b""), progress=bar.update)
    device.command("boot", on_info=print_device_message)
    emit(args, {"booting": str(image), "bytes": size}, f"booting {image}")
    return 0


def run_continue(device: FastbootDevice, args) -> int:
    device.command("continue", on_info=print_device_message)
    emit(args, {"continuing": True}, "continuing to boot")
    return 0


def run_wipe(device: FastbootDevice, args) -> int:
    """`tsuf -w`: erase user data (and cache and metadata where the handset has them)."""
    erased = wipe(device)
    emit(args, {"erased": erased}, f"erased {', '.join(erased)}")
    return 0


def wipe(device: FastbootDevice, extra: tuple[str, ...] = ()) -> list[str]:
    """`extra`: what a build's fastboot-info.txt also erases on a wipe (`if-wipe erase NAME`)."""
    present = [name for name in dict.fromkeys(WIPED + extra) if _has_partition(device, name)]
    if "userdata" not in present:
        raise NoSuchPartition("the handset has no userdata partition to wipe",
                              hint="`tsuf getvar all` lists the handset's partitions.")
    print("tsuf: warning: erasing all the user's data on the handset (photos, apps, accounts)", file=sys.stderr)
    for name in present:
        device.erase(name)
    return present


def run_format(device: FastbootDevice, args) -> int:
    """A new empty file system on a partition: made on this computer (mke2fs), then flashed, as the stock
    client's `format` does. The handset names the type (`partition-type`); --fs-type overrides it."""
    target = device.resolve_partition(args.partition, args.slot)
    if not _has_partition(device, target):
        raise NoSuchPartition(f"the handset has no partition {target}",
                              hint="`tsuf getvar all` lists every partition-size:NAME the handset has.")
    said = device.capabilities.value(f"partition-type:{target}")
    fs_type = args.fs_type or said
    if fs_type not in FILE_SYSTEMS:
        raise CannotFormat(f"{target} is {printable(said or 'of a type the handset does not say', 40)}; "
                           f"TSUF makes {', '.join(FILE_SYSTEMS)} file systems")
    tool = shutil.which("mke2fs") or next((path for path in ("/usr/sbin/mke2fs", "/sbin/mke2fs")
                                           if os.access(path, os.X_OK)), None)
    if tool is None:
        raise CannotFormat("mke2fs is not installed, so no file system can be made",
                           hint="Install e2fsprogs (Debian, Ubuntu: sudo apt-get install e2fsprogs).")
    size = device.partition_size(target)
    with tempfile.TemporaryDirectory(prefix="tsuf-format-") as scratch:
        image = Path(scratch) / f"{target}.img"
        made = subprocess.run([tool, "-q", "-F", "-t", fs_type, "-b", "4096", str(image), str(size // 4096)],
                              capture_output=True, text=True, timeout=600)
        if made.returncode != 0:
            raise CannotFormat(f"mke2fs could not make a {fs_type} file system of {human_bytes(size)}: "
                               f"{printable(made.stderr.strip(), 200)}")
        with progress_bar(f"format {target}", limits_text(device.timeouts, "flash:")) as bar:
            device.flash(target, image, progress=bar.update)
    emit(args, {"formatted": target, "fs_type": fs_type, "bytes": size},
         f"formatted {target} as {fs_type} ({human_bytes(size)})")
    return 0


def run_flashall(device: FastbootDevice, args) -> int:
    """Every image of a build folder whose name is one of the handset's partitions, to the active
    slot (or --slot), and NAME_other.img to the other slot unless --skip-secondary; the build's
    fastboot-info.txt chooses the images where it has one. Then, with -w, a wipe, and a reboot
    unless --skip-reboot. A build with super_empty.img takes the stock client's optimized path:
    its logical images go into a super built here and flashed from the bootloader, so no
    fastbootd is needed (a phone whose slots do not boot can still be reflashed)."""
    folder = Path(args.folder or os.environ.get("ANDROID_PRODUCT_OUT") or "")
    if not args.folder and not os.environ.get("ANDROID_PRODUCT_OUT"):
        raise NoImages("no folder of images given and $ANDROID_PRODUCT_OUT is not set")
    if not folder.is_dir():
        raise NoImages(f"{folder} is not a folder")
    _check_requirements(device, folder)
    layout = _super_layout(device, folder)
    images, wipes = _build_images(folder)
    caps = device.capabilities
    slot = _flashed_slot(device, args.slot)
    secondary = next((other for other in caps.slots if other != slot), None)
    logical: dict[Path, str] = {}
    plan: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for image, partition, to_other in images:
        if to_other and (args.skip_secondary or secondary is None):
            continue
        target_slot = secondary if to_other else slot
        if layout and layout.is_logical(partition):
            logical[image] = f"{partition}_{target_slot}" if target_slot else partition
        elif _has_partition(device, partition):
            slotted = caps.slots and caps.has_slot(partition)
            plan.append((image, device.resolve_partition(partition, target_slot if slotted else None)))
        else:
            skipped.append(image.name)
    if not plan and not logical:
        raise NoImages(f"{folder}: no image names a partition of this handset"
                       + (f" ({', '.join(skipped)} do not)" if skipped else ""))
    if skipped:
        print(f"tsuf: not flashed, no such partition on the handset: {', '.join(skipped)}", file=sys.stderr)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tsuf-super-") as scratch:
        super_image = _build_super(device, layout, logical, Path(scratch)) if logical else None
        for image, target in plan:
            with progress_bar(f"flash {target}", limits_text(device.timeouts, "flash:")) as bar:
                device.flash(target, image, progress=bar.update)
        if super_image:
            _flash_super(device, super_image, slot)
    erased = wipe(device, extra=wipes) if args.wipe else []
    if not args.skip_reboot:
        device.reboot()
    plan += list(logical.items())
    emit(args, {"flashed": {target: str(image) for image, target in plan}, "skipped": skipped,
                "erased": erased, "rebooting": not args.skip_reboot,
                "seconds": round(time.monotonic() - started, 3)},
         f"flashed {len(plan)} image(s)" + ("; rebooting" if not args.skip_reboot else ""))
    return 0


def _build_images(folder: Path) -> tuple[list[tuple[Path, str, bool]], tuple[str, ...]]:
    """(image, partition, for the other slot) of a build, and what its -w also erases: the
    images fastboot-info.txt lists where the build has one, else every NAME.img, with
    NAME_other.img for the other slot."""
    info = folder / FASTBOOT_INFO
    if info.is_file():
        with open(info, "rb") as file:
            planned = parse_fastboot_info(file.read(MAX_FASTBOOT_INFO_BYTES + 1).decode("utf-8", "replace"))
        images = [(folder / image.image, image.partition, image.other_slot) for image in planned.images]
        if missing := [path.name for path, _, _ in images if not path.is_file()]:
            raise NoImages(f"{FASTBOOT_INFO} flashes {', '.join(missing)}, which {folder} lacks")
        return images, planned.wipes
    images = []
    for image in sorted(folder.glob("*.img")):
        if image.stem != SUPER_EMPTY:
            images.append((image, image.stem.removesuffix(OTHER), image.stem.endswith(OTHER)))
    return images, ()


def _super_layout(device: FastbootDevice, folder: Path) -> SuperLayout | None:
    """super_empty.img of a build for a phone with dynamic partitions; None for other builds."""
    if not (folder / f"{SUPER_EMPTY}.img").is_file():
        return None
    layout = SuperLayout.load(folder / f"{SUPER_EMPTY}.img")
    caps = device.capabilities
    if caps.userspace or dynamic.super_size(caps) is None:
        raise DynamicPartitionsFolder(f"{folder} holds {SUPER_EMPTY}.img, and the handset does not offer its "
                                      "super partition from its bootloader")
    if layout.metadata.super_device.size > dynamic.super_size(caps):
        raise DoesNotFitSuper(f"{SUPER_EMPTY}.img describes a super of {layout.metadata.super_device.size} "
                              f"bytes; this phone's holds {dynamic.super_size(caps)}")
    return layout


def _flashed_slot(device: FastbootDevice, asked: str | None) -> str | None:
    caps = device.capabilities
    if not caps.slots:
        return None
    return caps.inactive_slot if asked == "other" else asked or caps.current_slot


def _build_super(device: FastbootDevice, layout: SuperLayout, logical: dict[Path, str], scratch: Path) -> Path:
    """The optimized path's super image, built here before anything is written: super_empty.img's
    layout with the flashed slot's logical partitions sized to their images."""
    super_name = device.capabilities.super_partition_name or dynamic.DEFAULT_SUPER
    raw = {name: _raw_copy(image, scratch) for image, name in logical.items()}
    try:
        metadata = sized_layout(layout.metadata, raw)
    except NoSpaceInSuper as error:
        raise DoesNotFitSuper(f"the logical images do not fit {super_name}: {error}") from None
    built = scratch / f"{super_name}.img"
    with open(built, "wb") as out:
        write_super_image(metadata, raw, out)
    return built


def _flash_super(device: FastbootDevice, super_image: Path, slot: str | None) -> None:
    """Flashed from the bootloader; the flashed slot made active, since its logical partitions
    are the only ones the new super keeps."""
    caps = device.capabilities
    super_name = super_image.stem
    print(f"tsuf: warning: {super_name} is rebuilt from {SUPER_EMPTY}.img: the logical partitions of every other "
          "slot are emptied, as a full reflash does", file=sys.stderr)
    with progress_bar(f"flash {super_name}", limits_text(device.timeouts, "flash:")) as bar:
        device.flash(super_name, super_image, progress=bar.update)
    if slot and caps.current_slot != slot:
        device.set_active(slot)


def _raw_copy(image: Path, scratch: Path) -> Path:
    """The image's raw bytes: a sparse image (as builds leave system.img) is expanded first."""
    with open(image, "rb") as source:
        if not is_sparse(source.read(4)):
            return image
        source.seek(0)
        raw = scratch / image.name
        with open(raw, "wb") as out:
            expand(source, out)
    return raw


def _has_partition(device: FastbootDevice, name: str) -> bool:
    capabilities = device.capabilities
    if capabilities.partition_size(name) is not None:
        return True
    return bool(capabilities.slots) and capabilities.has_slot(name) \
        and capabilities.partition_size(f"{name}_{capabilities.slots[0]}") is not None


def _check_requirements(device: FastbootDevice, folder: Path) -> None:
    """android-info.txt's requirements, checked as the stock client checks them before writing."""
    info = folder / "android-info.txt"
    if not info.is_file():
        return
    with open(info, "rb") as file:
        requirements = parse_android_info(file.read(MAX_ANDROID_INFO_BYTES + 1).decode("utf-8", "replace"))
    caps = device.capabilities
    for verdict in judge(requirements, caps.product, caps.value):
        if verdict.met is False:
            found = printable(verdict.value or "not reported by the handset", 80)
            raise WrongProduct(f"the images require that {printable(verdict.requirement.describe(), 200)}; the "
                               f"handset's {printable(verdict.requirement.variable, 80)}: {found}")


VERBS = {"oem": run_oem, "flashing": run_flashing, "boot": run_boot, "continue": run_continue,
         "wipe": run_wipe, "format": run_format, "flashall": run_flashall}


def run_bootloader_command(args) -> int:
    with open_device(args) as device:
        return VERBS[args.command](device, args)
