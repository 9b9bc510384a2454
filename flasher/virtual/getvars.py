"""The variables a virtual handset reports, in the formats the AOSP client expects."""

from ..protocol.variables import VERSION

SLOTS = ("a", "b")


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def all_variables(profile, meta, *, userspace: bool, unlocked: bool) -> list[tuple[str, str]]:
    """Every variable as (key, value), in `getvar:all` order; keys with an
    argument read `name:arg`. `unlocked` is the bootloader's lock state now."""
    slotted = profile.slot_count == 2
    pairs = [
        ("version", VERSION),
        ("version-bootloader", profile.version_bootloader),
        ("version-baseband", profile.version_baseband),
        ("product", profile.product),
        ("serialno", profile.serialno),
        ("variant", profile.variant),
        ("hw-revision", profile.hw_revision),
        ("secure", yes_no(profile.secure)),
        ("unlocked", yes_no(unlocked)),
        ("is-userspace", yes_no(userspace)),
        ("max-download-size", f"0x{profile.max_download_size:x}"),
        ("max-fetch-size", f"0x{profile.max_download_size:x}"),
        ("battery-voltage", str(profile.battery_voltage_mv)),
        ("battery-soc-ok", yes_no(profile.battery_soc_ok)),
        ("slot-count", str(profile.slot_count)),
        ("snapshot-update-status", "none"),
    ]
    if slotted:
        pairs.append(("current-slot", meta.active))
        for slot in SLOTS:
            state = meta.slot(slot)
            pairs += [
                (f"slot-successful:{slot}", yes_no(state.successful)),
                (f"slot-unbootable:{slot}", yes_no(state.unbootable)),
                (f"slot-retry-count:{slot}", str(state.tries_remaining)),
            ]
    for partition in profile.partitions:
        pairs.append((f"has-slot:{partition.name}", yes_no(partition.slotted and slotted)))
        for stem in stems(partition, slotted):
            pairs += [
                (f"partition-size:{stem}", f"0x{partition.size:x}"),
                (f"partition-type:{stem}", partition.fs_type),
                (f"is-logical:{stem}", "no"),
            ]
    return pairs


def stems(partition, slotted: bool) -> list[str]:
    if partition.slotted and slotted:
        return [f"{partition.name}_{slot}" for slot in SLOTS]
    return [partition.name]
