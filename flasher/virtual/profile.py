"""What a virtual handset is: its identity, its limits and its partition table.

`default_profile()` is shaped like a ZTE A/B handset (sizes below). Custom devices
come from JSON (`tsuf emulator --profile FILE.json`) through `DeviceProfile.from_dict`
or `load_profile`, and are checked as strictly as the default: a profile that loads
is one the handset and its storage can serve.

Partition naming follows fastboot:
- `boot_a` / `boot_b` name a slot of a slotted partition explicitly;
- a bare `boot` (slotted) means the current slot;
- an unslotted partition (`misc`) has only its bare name: `misc_a` does not exist;
- a slot the device lacks (`boot_c`) or an unknown name is an `UnknownPartition`.
Each (partition, slot) is stored under a "stem": `boot_a`, `boot_b`, `misc`.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from flasher.errors import FlasherError

from .families.names import DEFAULT_FAMILY, FAMILY_NAMES
from .slots import MAX_TRIES, SLOT_NAMES

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

BLOCK = 4096
FS_TYPES = ("raw", "ext4", "f2fs")
# The protocol sends sizes as 8 hex digits (`download:%08x`).
MAX_DOWNLOAD_LIMIT = 0xFFFFFFFF
# GPT partition names hold at most 36 characters.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,35}\Z")
# The serial number names the handset's folder, so it must be a safe file name.
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
# getvar answers must fit one 256-byte response with the variable's name.
_TEXT_MAX = 64
# Names Windows refuses as file names, with any extension.
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)
}


class ProfileError(FlasherError):
    """A device profile that cannot describe a working handset."""


class UnknownPartition(FlasherError):
    """A partition name the handset does not have."""


@dataclass(frozen=True)
class Partition:
    """One partition of the table; a slotted one exists once per slot."""

    name: str
    size: int
    slotted: bool
    fs_type: str = "raw"
    protected: bool = True
    """A locked bootloader refuses to flash or erase it."""


@dataclass(frozen=True)
class DeviceProfile:
    """Everything the handset reports about itself and the partitions it serves."""

    product: str
    serialno: str
    variant: str
    version_bootloader: str
    version_baseband: str
    hw_revision: str
    manufacturer: str
    max_download_size: int
    slot_count: int
    secure: bool
    unlocked: bool
    battery_voltage_mv: int
    battery_soc_ok: bool
    usb_vendor_id: int
    usb_product_id: int
    partitions: tuple[Partition, ...]
    max_retry_count: int = MAX_TRIES
    oem_public_key: str = ""
    """PEM of the OEM key that signs boot metadata; empty turns verified boot off."""
    unlock_ability: bool = True
    """`flashing unlock` is allowed (Android's "OEM unlocking" switch is on)."""
    family: str = DEFAULT_FAMILY
    """Whose fastboot the handset speaks: its variables, commands, wordings and costs."""
    cost_scale: float = 0.0
    """Multiplies the family's device-side costs (command latency, write time): 0 answers
    at once (tests), 1 takes as long as the real device (benchmarks)."""

    def __post_init__(self) -> None:
        # Accept a list, but store a tuple so the profile stays hashable and frozen.
        object.__setattr__(self, "partitions", tuple(self.partitions))
        _validate(self)

    @property
    def slots(self) -> tuple[str, ...]:
        """Slot letters: ('a', 'b') on an A/B device, () otherwise."""
        return SLOT_NAMES if self.slot_count == 2 else ()

    def partition(self, name: str) -> Partition:
        """The partition called exactly `name` (no slot suffix)."""
        for part in self.partitions:
            if part.name == name:
                return part
        raise self._no_such(name)

    def resolve(self, name: str, current_slot: str | None) -> tuple[Partition, str | None, str]:
        """Map a fastboot partition name to (partition, slot or None, storage stem).

        `current_slot` is used for a bare slotted name; it may be None only on a
        device without slots.
        """
        for part in self.partitions:
            if part.name == name:
                if not part.slotted:
                    return part, None, name
                if current_slot not in self.slots:
                    raise ValueError(f"current slot {current_slot!r} is not one of {self.slots}")
                return part, current_slot, f"{name}_{current_slot}"
        # A one-letter suffix reads as a slot: say precisely why it is not one here.
        base, sep, suffix = name.rpartition("_")
        if sep and base and len(suffix) == 1:
            for part in self.partitions:
                if part.name != base:
                    continue
                if not part.slotted:
                    raise UnknownPartition(
                        f"partition {base!r} has no slots, so {name!r} does not exist",
                        hint=f"Use {base!r} without a slot suffix.",
                    )
                if suffix in self.slots:
                    return part, suffix, name
                raise UnknownPartition(
                    f"no partition {name!r}: slot {suffix!r} does not exist "
                    f"(this device has slots {' and '.join(self.slots)})",
                    hint=f"Use {base}_a or {base}_b, or {base!r} for the current slot.",
                )
        raise self._no_such(name)

    def _no_such(self, name: str) -> UnknownPartition:
        return UnknownPartition(
            f"no partition named {name!r} on {self.product}",
            hint="Check the name; 'fastboot getvar all' lists every partition-size:NAME.",
        )

    def storage_files(self) -> tuple[tuple[str, int], ...]:
        """(stem, size) of every file the handset stores: each slot of each partition."""
        files = []
        for part in self.partitions:
            if part.slotted:
                files.extend((f"{part.name}_{slot}", part.size) for slot in self.slots)
            else:
                files.append((part.name, part.size))
        return tuple(files)

    def to_dict(self) -> dict:
        """JSON-friendly form; `from_dict` reads it back. USB ids are hex strings."""
        data: dict = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "partitions":
                value = [
                    {"name": p.name, "size": p.size, "slotted": p.slotted, "fs_type": p.fs_type,
                     "protected": p.protected}
                    for p in value
                ]
            elif f.name in ("usb_vendor_id", "usb_product_id"):
                value = f"0x{value:04x}"
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: object) -> DeviceProfile:
        """Build and check a profile from JSON data; any flaw is a ProfileError."""
        if not isinstance(data, dict):
            raise _error("a profile must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise _error(f"unknown field(s): {', '.join(unknown)}")
        missing = sorted(
            name
            for name, f in known.items()
            if name not in data and f.default is MISSING and f.default_factory is MISSING
        )
        if missing:
            raise _error(f"missing field(s): {', '.join(missing)}")
        values = {}
        for name, value in data.items():
            if name in ("usb_vendor_id", "usb_product_id"):
                value = _usb_id(name, value)
            elif name == "partitions":
                value = _partitions(value)
            values[name] = value
        return cls(**values)


def load_profile(path: Path | str) -> DeviceProfile:
    """Read a profile from a JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(
            f"cannot read device profile {path}: {exc.strerror or exc}",
            hint="Check the path given to --profile.",
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(
            f"device profile {path} is not valid JSON: {exc}",
            hint="Fix the JSON syntax at the line and column named.",
        ) from exc
    try:
        return DeviceProfile.from_dict(data)
    except ProfileError as exc:
        raise ProfileError(f"device profile {path}: {exc}", hint=exc.hint) from exc


def default_profile(serialno: str) -> DeviceProfile:
    """A ZTE-like A/B handset.

    Sizes are those of a 2022-era phone with physical (not dynamic) system partitions:
    boot 64 MiB, init_boot 8 MiB, vendor_boot 64 MiB, dtbo 16 MiB, vbmeta and
    vbmeta_system 64 KiB, system 4 GiB, vendor 1 GiB, product 2 GiB, all slotted;
    misc 1 MiB, metadata 16 MiB, persist 32 MiB, userdata 32 GiB, unslotted.
    Storage is sparse, so the 57 GiB of a fresh handset cost almost no disk.

    Every partition reports type `raw`: the Debian 29.0.6 client then erases instead
    of formatting on `fastboot -w`, where ext4/f2fs would make it run mke2fs, which it
    does not ship. Secure boot is on and the bootloader unlocked, as on a development
    handset, so flashing is allowed; locked (`unlocked=False`), it protects every
    partition, as Qualcomm's ABL does, and may be unlocked (`unlock_ability`).
    """
    slotted = [
        ("boot", 64 * MiB),
        ("init_boot", 8 * MiB),
        ("vendor_boot", 64 * MiB),
        ("dtbo", 16 * MiB),
        ("vbmeta", 64 * KiB),
        ("vbmeta_system", 64 * KiB),
        ("system", 4 * GiB),
        ("vendor", 1 * GiB),
        ("product", 2 * GiB),
    ]
    unslotted = [
        ("misc", 1 * MiB),
        ("metadata", 16 * MiB),
        ("persist", 32 * MiB),
        ("userdata", 32 * GiB),
    ]
    return DeviceProfile(
        product="tsuf_zte_ab",
        serialno=serialno,
        variant="SM UFS",  # Qualcomm ABL's spelling for a UFS device
        version_bootloader="TSUF-ABL-1.0",
        version_baseband="MPSS.TSUF.1.0",
        hw_revision="10000",
        manufacturer="ZTE",
        max_download_size=256 * MiB,
        slot_count=2,
        secure=True,
        unlocked=True,
        battery_voltage_mv=4012,
        battery_soc_ok=True,
        usb_vendor_id=0x19D2,  # ZTE
        # An illustrative id: hosts match fastboot by interface class, not by id.
        usb_product_id=0x1350,
        partitions=tuple(Partition(n, s, True) for n, s in slotted)
        + tuple(Partition(n, s, False) for n, s in unslotted),
        max_retry_count=MAX_TRIES,
    )


def _error(why: str, hint: str | None = None) -> ProfileError:
    return ProfileError(
        f"bad device profile: {why}",
        hint=hint or "Fix the profile; start from the default profile's to_dict() output.",
    )


def _usb_id(name: str, value: object) -> object:
    """USB ids may be written as numbers or as hex strings ("0x19d2")."""
    if isinstance(value, str):
        try:
            return int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            raise _error(f"{name} {value!r} is not a number") from None
    return value


def _partitions(value: object) -> tuple[Partition, ...]:
    if not isinstance(value, list):
        raise _error("partitions must be a list")
    parts = []
    allowed = {"name", "size", "slotted", "fs_type", "protected"}
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise _error(f"partition #{i + 1} must be an object")
        extra = sorted(set(entry) - allowed)
        if extra:
            raise _error(f"partition #{i + 1}: unknown field(s): {', '.join(extra)}")
        missing = sorted({"name", "size", "slotted"} - set(entry))
        if missing:
            raise _error(f"partition #{i + 1}: missing field(s): {', '.join(missing)}")
        parts.append(Partition(**entry))
    return tuple(parts)


def _check_text(p: DeviceProfile, name: str, required: bool) -> None:
    value = getattr(p, name)
    if not isinstance(value, str):
        raise _error(f"{name} must be text, not {value!r}")
    if required and not value:
        raise _error(f"{name} must not be empty")
    if len(value) > _TEXT_MAX or any(not " " <= ch <= "~" for ch in value):
        raise _error(
            f"{name} {value!r} must be printable ASCII of at most {_TEXT_MAX} characters",
            hint="fastboot answers are short ASCII text; shorten the value.",
        )


def _check_int(p: DeviceProfile, name: str, low: int, high: int, hint: str | None = None) -> None:
    value = getattr(p, name)
    if type(value) is not int:
        raise _error(f"{name} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise _error(f"{name} {value} is outside {low}..{high}", hint=hint)


def _validate(p: DeviceProfile) -> None:
    for name in ("product", "serialno", "manufacturer"):
        _check_text(p, name, required=True)
    for name in ("variant", "version_bootloader", "version_baseband", "hw_revision"):
        _check_text(p, name, required=False)
    if not _SERIAL.match(p.serialno):
        raise _error(
            f"serialno {p.serialno!r} may hold only letters, digits, '.', '_' and '-'",
            hint="The serial number names the handset's folder; use a plain name like ZTE0001.",
        )
    for name in ("secure", "unlocked", "unlock_ability", "battery_soc_ok"):
        if type(getattr(p, name)) is not bool:
            raise _error(f"{name} must be true or false, not {getattr(p, name)!r}")
    _check_int(
        p,
        "max_download_size",
        BLOCK,
        MAX_DOWNLOAD_LIMIT,
        hint="fastboot sizes are 32-bit; real phones use 16 MiB to 256 MiB.",
    )
    _check_int(p, "battery_voltage_mv", 0, 10_000)
    _check_int(p, "usb_vendor_id", 0, 0xFFFF)
    _check_int(p, "usb_product_id", 0, 0xFFFF)
    _check_int(
        p,
        "max_retry_count",
        1,
        MAX_TRIES,
        hint=f"Android's boot_control holds at most {MAX_TRIES} tries.",
    )
    if p.family not in FAMILY_NAMES:
        raise _error(f"family {p.family!r} is not one of {', '.join(FAMILY_NAMES)}")
    if type(p.cost_scale) not in (int, float) or not 0 <= p.cost_scale <= 100:
        raise _error(f"cost_scale must be a number from 0 to 100, not {p.cost_scale!r}",
                     hint="0 turns device-side costs off; 1 models the real device.")
    if not isinstance(p.oem_public_key, str) or (
            p.oem_public_key and "-----BEGIN PUBLIC KEY-----" not in p.oem_public_key):
        raise _error("oem_public_key must be a PEM public key (or empty for no verified boot)")
    if type(p.slot_count) is not int or p.slot_count not in (0, 2):
        raise _error(
            f"slot_count must be 2 (A/B) or 0 (no slots), not {p.slot_count!r}",
            hint="fastboot devices report slot-count 2 or 0.",
        )

    if not p.partitions:
        raise _error("the partition table is empty")
    names: set[str] = set()
    for part in p.partitions:
        if not isinstance(part, Partition):
            raise _error(f"{part!r} is not a Partition")
        if not isinstance(part.name, str) or not _NAME.match(part.name):
            raise _error(
                f"partition name {part.name!r} is not valid",
                hint="Use 1 to 36 letters, digits, '_' or '-', starting with a letter or digit.",
            )
        if part.name in names:
            raise _error(f"partition {part.name!r} is listed twice")
        names.add(part.name)
        if type(part.size) is not int or part.size <= 0 or part.size % BLOCK:
            raise _error(
                f"partition {part.name!r}: size {part.size!r} must be a positive "
                f"multiple of {BLOCK}",
                hint="Partitions are whole 4 KiB blocks.",
            )
        if type(part.slotted) is not bool:
            raise _error(f"partition {part.name!r}: slotted must be true or false")
        if type(part.protected) is not bool:
            raise _error(f"partition {part.name!r}: protected must be true or false")
        if part.slotted and p.slot_count == 0:
            raise _error(
                f"partition {part.name!r} is slotted but the device has no slots",
                hint="Set slot_count to 2, or make the partition unslotted.",
            )
        if part.fs_type not in FS_TYPES:
            raise _error(
                f"partition {part.name!r}: fs_type {part.fs_type!r} is not one of "
                f"{', '.join(FS_TYPES)}"
            )

    # Each stem is both a fastboot name and a file name, so stems must not collide,
    # not even by case (Windows and macOS file names ignore case).
    seen: dict[str, str] = {}
    for stem, _size in p.storage_files():
        key = stem.lower()
        if key in _WINDOWS_RESERVED:
            raise _error(
                f"partition name {stem!r} cannot be a file name on Windows",
                hint="Rename the partition.",
            )
        if key in seen:
            raise _error(
                f"partitions clash: {seen[key]!r} and {stem!r} would share one name or file",
                hint="Rename one of them; a slotted 'boot' already owns 'boot_a' and 'boot_b'.",
            )
        seen[key] = stem
