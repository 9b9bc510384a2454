"""The commands that talk to one handset: getvar, flash, erase, set-active, reboot, fetch."""

import json
import sys
import time
from pathlib import Path

from .. import vbmeta_flags
from ..fastboot import FastbootDevice, Timeouts
from ..device_text import printable
from ..errors import FlasherError
from ..protocol.errors import CommandFailed
from .output_file import OutputFile
from .progress import progress_bar


class NoDeviceAddress(FlasherError):
    hint = "Name the device with -s ADDRESS (for example -s tcp:127.0.0.1:5554) or set TSUF_DEVICE."


class ImageNotFound(FlasherError):
    hint = "Check the file name; the image must be a readable file."


def run_device_command(args) -> int:
    if args.command == "flash" and not Path(args.file).is_file():
        raise ImageNotFound(f"{args.file}: no such image file")
    if args.command == "fetch":
        with OutputFile(Path(args.file)) as output:  # a bad target is refused before the handset is touched
            with open_device(args, listing=False) as device:
                return _fetch(device, args, output)
    # One command reads a few variables: asked one by one, as the stock client asks them.
    with open_device(args, listing=False) as device:
        return _COMMANDS[args.command](device, args)


def open_device(args, *, listing: bool = True) -> FastbootDevice:
    """The one handset named with -s (or $TSUF_DEVICE); `listing` as in FastbootDevice."""
    if not args.address:
        raise NoDeviceAddress("no device address given")
    if len(args.address) > 1:
        raise NoDeviceAddress(f"{args.command} works on one handset; {len(args.address)} were given",
                              hint="Give -s once; only `tsuf update` takes several handsets.")
    return FastbootDevice.open(args.address[0], timeouts=timeouts(args), on_message=print_device_message,
                               listing=listing)


def timeouts(args) -> Timeouts:
    """The silence timer and, when given, one deadline for every command (flash and erase included)."""
    if args.deadline is None:
        return Timeouts(response=args.timeout)
    return Timeouts(response=args.timeout, command=args.deadline, long_command=args.deadline)


def limits_text(limits: Timeouts, command: str) -> str:
    """What stops a long command, for its progress line."""
    return f"stops after {limits.response:g} s of silence or {limits.deadline_for(command):g} s per command"


def print_device_message(text: str) -> None:
    print(f"(bootloader) {printable(text, None)}", file=sys.stderr)


def emit(args, data: dict, human: str) -> None:
    # JSON escapes every control character itself (ensure_ascii); `human` is made printable by the caller.
    print(json.dumps(data, indent=2) if args.json else human)


def _getvar(device: FastbootDevice, args) -> int:
    if args.name == "all":
        values = device.getvar_all()
        emit(args, values, "\n".join(f"{printable(key, None)}: {printable(value, None)}"
                                      for key, value in values.items()))
    else:
        value = device.getvar(args.name)
        emit(args, {args.name: value}, f"{printable(args.name, None)}: {printable(value, None)}")
    return 0


def _flash(device: FastbootDevice, args) -> int:
    image = Path(args.file)
    target = device.resolve_partition(args.partition, args.slot)
    flags = vbmeta_flags.flags_for(args.disable_verity, args.disable_verification)
    if not flags:
        return _flash_file(device, args, target, image, image)
    if not target.startswith("vbmeta"):
        raise vbmeta_flags.NotVbmeta(f"--disable-verity and --disable-verification change a vbmeta "
                                     f"partition; {target} is not one")
    import tempfile  # only this copy needs a scratch folder
    with tempfile.TemporaryDirectory(prefix="tsuf-vbmeta-") as scratch:
        # As the stock client: the header's flags are set in a copy, never in the user's file.
        return _flash_file(device, args, target, image, vbmeta_flags.with_flags(image, flags, Path(scratch) / image.name))


def _flash_file(device: FastbootDevice, args, target: str, image: Path, sent: Path) -> int:
    """Flash `sent` (the user's `image`, or its copy with vbmeta flags set)."""
    started = time.monotonic()
    with progress_bar(f"flash {target}", limits_text(device.timeouts, "flash:")) as bar:
        pieces = device.flash(target, sent, progress=bar.update, use_fill=not args.no_fill)
    emit(args, {"partition": target, "image": str(image), "bytes": image.stat().st_size,
                 "pieces": pieces, "seconds": round(time.monotonic() - started, 3)},
          f"wrote {image} to {target} in {pieces} piece{'s' if pieces != 1 else ''}")
    return 0


def _erase(device: FastbootDevice, args) -> int:
    target = device.resolve_partition(args.partition, args.slot)
    device.erase(target)
    emit(args, {"erased": target}, f"erased {target}")
    return 0


def _set_active(device: FastbootDevice, args) -> int:
    device.set_active(args.slot)
    emit(args, {"active_slot": args.slot}, f"slot {args.slot} is active")
    return 0


def _reboot(device: FastbootDevice, args) -> int:
    try:
        device.reboot(args.target)
    except CommandFailed as error:
        if args.target == "edl":  # bootloaders that know EDL only as an OEM command (lk2nd, some ABLs)
            error.hint = "This bootloader has no reboot-edl; some take `tsuf oem reboot-edl` or `tsuf oem edl`."
        raise
    where = args.target or "system"
    emit(args, {"rebooting": where}, f"rebooting to {where}")
    return 0


def _fetch(device: FastbootDevice, args, output: OutputFile) -> int:
    target = device.resolve_partition(args.partition, args.slot)
    out_path = Path(args.file)
    started = time.monotonic()
    with progress_bar(f"fetch {target}", limits_text(device.timeouts, "fetch:")) as bar:
        size = device.fetch(target, output.file, progress=bar.update)
        output.commit()
    emit(args, {"partition": target, "file": str(out_path), "bytes": size,
                 "seconds": round(time.monotonic() - started, 3)},
          f"read {target} into {out_path}")
    return 0


_COMMANDS = {
    "getvar": _getvar,
    "flash": _flash,
    "erase": _erase,
    "set-active": _set_active,
    "reboot": _reboot,
}
