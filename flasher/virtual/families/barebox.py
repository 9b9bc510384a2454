"""barebox (common/fastboot.c): the bootloader of many industrial boards.

On the wire: commands match by prefix in barebox's order (`reboot` first, so
every `reboot-*` simply restarts the board); anything else is
`unknown command TEXT`, `set_active`, `fetch`, `upload`, `continue` and
`flashing` included. Variables: version, bootloader-version, max-download-size
(decimal), and per partition `partition-size:NAME` (`%08x`: hex without 0x)
and `partition-type:NAME`; `getvar all` prints `name: value`. An unknown variable
(serialno, product, current-slot, has-slot...) answers an empty OKAY. Every
response is cut to 64 bytes. Downloads have no size limit and are announced
with INFO lines; erase is not supported by the eMMC driver. `oem setenv`/`oem
getenv` keep an environment in RAM, lost at reboot. After a reboot it runs the
OS and stays there.
"""

from ..handset import Mode
from ..imaging import ImageRejected
from ..profile import UnknownPartition
from .base import DeviceCosts, Family, Refused, rebooter, say

BOOTLOADER_VERSION = "barebox-2024.05.0"
RESPONSE_LIMIT = 63  # snprintf into 64 bytes: the last one is its NUL

BAREBOX_COSTS = DeviceCosts(command=0.0005, write_rate=20e6, write_call=0.0005, write_piece=128 * 1024)
"""An i.MX-class board's eMMC under barebox: about 20 MB/s; sparse images are
expanded through a 128 KiB buffer, one write each (estimates: docs/real-handsets.md)."""


def _cut(text: str) -> str:
    return text[: RESPONSE_LIMIT - 4]


def _device_file(name: str) -> str:
    return f"/dev/mmc0.{name}"


def variables(handset) -> list[tuple[str, str]]:
    profile = handset.profile
    pairs = [("version", "0.4"), ("bootloader-version", BOOTLOADER_VERSION),
             ("max-download-size", str(profile.max_download_size))]
    for partition in profile.partitions:
        pairs += [(f"partition-size:{partition.name}", f"{partition.size:08x}"),
                  (f"partition-type:{partition.name}", "basic")]
    return pairs


def getvar(handset, command, protocol, link) -> None:
    pairs = variables(handset)
    if command.argument == "all":
        for key, value in pairs:
            say(link, protocol.info(_cut(f"{key}: {value}")))
        say(link, protocol.okay())
        return
    say(link, protocol.okay(_cut(dict(pairs).get(command.argument, ""))))


def download(handset, command, protocol, link) -> None:
    digits = ""
    for char in command.argument:  # simple_strtoul
        if char not in "0123456789abcdefABCDEF":
            break
        digits += char
    size = int(digits, 16) if digits else 0
    say(link, protocol.info(_cut(f"Downloading {size} bytes...")))
    if size == 0:
        raise Refused("data invalid size")
    handset.receive_download(size, protocol, link)
    say(link, protocol.info(_cut(f"Downloading {size} bytes finished")))
    say(link, protocol.okay())


def _stem(handset, name: str) -> str:
    try:
        _partition, _slot, stem = handset.profile.resolve(name, None)
    except UnknownPartition:
        raise Refused(_cut(f"No such partition: {name}")) from None
    return stem


def flash(handset, command, protocol, link) -> None:
    say(link, protocol.info(_cut(f"Copying file to {command.argument}...")))
    stem = _stem(handset, command.argument)
    if not handset.staged_size:
        raise Refused("internal error")  # no downloaded file to copy
    try:
        handset.write_staged(stem)
    except ImageRejected as exc:
        what = "writing sparse image" if "sparse" in str(exc) else "write partition"
        raise Refused(f"{what}: No space left on device") from None
    say(link, protocol.okay())


def erase(handset, command, protocol, link) -> None:
    say(link, protocol.info(_cut(f"Erasing {command.argument}...")))
    _stem(handset, command.argument)
    raise Refused(_cut(f"cannot erase partition {_device_file(command.argument)}: Operation not supported"))


def oem(handset, command, protocol, link) -> None:
    verb, _, rest = command.argument.partition(" ")
    if verb == "getenv" and rest:
        say(link, protocol.info(_cut(handset.volatile.get(rest, ""))))
        say(link, protocol.okay())
    elif verb == "setenv" and rest:
        name, equals, value = rest.partition("=")
        if not equals or not name:
            raise Refused("Invalid argument")
        handset.volatile[name] = value
        say(link, protocol.okay())
    else:
        raise Refused(_cut(f"unknown command {command.argument}"))


class BareboxFamily(Family):
    slots = False
    costs = BAREBOX_COSTS
    # barebox's dispatch order matters: prefixes are tried in turn.
    prefixes = (
        ("reboot", rebooter(Mode.ANDROID)),
        ("getvar:", getvar),
        ("download:", download),
        ("flash:", flash),
        ("erase:", erase),
        ("oem ", oem),
    )

    def route(self, command):
        text = command.text
        for prefix, handler in self.prefixes:
            if text.startswith(prefix):
                return handler
        return None

    def unknown_command(self, command) -> str:
        return _cut(f"unknown command {command.text}")


def make(name: str) -> Family:
    return BareboxFamily(name)
