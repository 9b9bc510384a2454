"""Which package a handset gets, as a pure function of what it reports and what is on offer.

Rules (docs/catalog.md): only packages for the handset's product and hardware
revision; never below its rollback index; never its own build or an older one
(builds compare by name, digit runs as numbers: B99 < B120 < B1000); the newest
build that can be reached; a delta only when its source build is exactly the
handset's build, else the full package. A locked bootloader refuses fastboot
writes, so a locked handset takes only sideload packages (full, through
recovery); an unlocked one takes a sideload package only when no fastboot
package reaches that build. Among equal packages the smaller wins, and one
already in the library beats a download.

A vendor OTA (payload.bin) is a fastboot package like the others, full, or incremental
(a delta from its source build); it states no rollback index, so, as when a handset
reports none, it is not held back by one (the update checks the index its vbmeta image
states before writing, and the reason says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import FlasherError
from ..package.summary import PackageSummary

LIBRARY = "library"
CATALOG = "catalog"
FASTBOOT, SIDELOAD = "fastboot", "sideload"  # a package's `install`, as its manifest says
_DIGITS = re.compile(r"(\d+)")


class NoUpdateFor(FlasherError):
    """Nothing to install on this handset; `up_to_date` says whether that is because it runs the newest build."""

    hint = "Add the packages for this handset to the library or the catalog, or give the package explicitly."

    def __init__(self, message: str, hint: str | None = None, *, up_to_date: bool = False):
        super().__init__(message, hint)
        self.up_to_date = up_to_date


class OnlyForUnlocked(NoUpdateFor):
    """Newer builds exist, but only as packages a locked bootloader refuses."""


@dataclass(frozen=True)
class Identity:
    """What a handset says it is."""

    serialno: str
    product: str
    hw_revision: str
    build: str
    rollback_index: int | None  # None: the handset does not report one
    locked: bool = False  # the bootloader refuses fastboot writes


@dataclass(frozen=True, kw_only=True)
class Candidate(PackageSummary):
    """A package on offer: from the library (`location` a path) or a catalog (`location` a URL, with `sha256`
    of the file to download and, for a vendor OTA, `payload_sha256`: what the opened OTA reports)."""

    size: int
    location: str
    origin: str
    sha256: str | None = None
    payload_sha256: str | None = None


@dataclass(frozen=True)
class Choice:
    package: Candidate
    fallback: Candidate | None  # the full package of the same build, for a delta that turns out not to apply
    reason: str  # "delta 38 MB from B120 to B130", "full 2.1 GB: no delta from B110"


def build_order(build: str) -> tuple:
    """Sort key of a build name: text compares as text, digit runs as numbers."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(build) if part)


def choose(identity: Identity, candidates: Iterable[Candidate]) -> Choice:
    """The package for this handset, with the reason; NoUpdateFor when there is none."""
    label = f"{identity.product or 'unknown product'} hardware {identity.hw_revision or '?'}"
    offered = [c for c in candidates if c.product == identity.product
               and (not c.hw_revisions or identity.hw_revision in c.hw_revisions)]  # none named: every revision
    if not offered:
        raise NoUpdateFor(f"{identity.serialno}: no package for {label}")
    if not identity.build:
        raise NoUpdateFor(f"{identity.serialno} does not report its build, so a newer one cannot be told from "
                          "an older one", "Update it with an explicit package: tsuf update PACKAGE")
    allowed = [c for c in offered if identity.rollback_index is None or c.rollback_index is None
               or c.rollback_index >= identity.rollback_index]
    newer = [c for c in allowed if build_order(c.build) > build_order(identity.build)]
    if not newer:
        raise NoUpdateFor(f"{identity.serialno} runs {identity.build}, the newest build for {label}",
                          "Nothing to do.", up_to_date=True)
    builds = sorted({c.build for c in newer}, key=build_order, reverse=True)
    if identity.locked and not any(c.install == SIDELOAD for c in newer):
        raise OnlyForUnlocked(
            f"{identity.serialno} runs {identity.build} and its bootloader is locked: {', '.join(builds)} "
            f"{'is' if len(builds) == 1 else 'are'} offered only for unlocked bootloaders",
            f"Get the manufacturer's signed update for {identity.product} (installed through recovery), or "
            "unlock the bootloader (this erases the user's data).")
    for build in builds:
        choice = _best_path(identity, [c for c in newer if c.build == build])
        if choice:
            notes = [choice.reason]
            if build != builds[0]:
                missing = "no package for a locked bootloader" if identity.locked else \
                    f"no full package and no delta from {identity.build}"
                notes.append(f"{builds[0]} has {missing}")
            if choice.package.rollback_index is None and identity.rollback_index is not None:
                notes.append("its rollback index is not stated: the update checks its vbmeta's before writing")
            return Choice(choice.package, choice.fallback, "; ".join(notes))
    raise NoUpdateFor(f"{identity.serialno} runs {identity.build}: {', '.join(builds)} "
                      f"{'has' if len(builds) == 1 else 'have'} no full package and no delta from {identity.build}")


def _best_path(identity: Identity, same_build: list[Candidate]) -> Choice | None:
    def preference(candidate: Candidate) -> tuple:
        return candidate.size, candidate.origin != LIBRARY

    # Recovery installs full packages only (the manifest's schema says so), so a sideload package is a full one.
    sideloads = sorted((c for c in same_build if c.install == SIDELOAD), key=preference)
    sideload = sideloads[0] if sideloads else None
    if identity.locked:
        return Choice(sideload, None, f"{_through_recovery(sideload)}: the bootloader is locked") if sideload else None
    fastboot = [c for c in same_build if c.install == FASTBOOT]
    fulls = sorted((c for c in fastboot if c.type == "full"), key=preference)
    deltas = sorted((c for c in fastboot if c.applies_to_a_build and c.source_build == identity.build),
                    key=preference)
    full = fulls[0] if fulls else None
    if deltas:
        delta = deltas[0]
        return Choice(delta, full or sideload, f"delta {size_text(delta.size)} from {identity.build} to {delta.build}")
    if full:
        return Choice(full, None, f"full {size_text(full.size)}: no delta from {identity.build}")
    if sideload:
        return Choice(sideload, None, f"{_through_recovery(sideload)}: no delta from {identity.build} and no "
                                      "full package for fastboot")
    return None


def _through_recovery(package: Candidate) -> str:
    return f"full {size_text(package.size)} through recovery"


def size_text(size: int) -> str:
    """Sizes as people quote firmware: decimal units, '38 MB', '2.1 GB'."""
    if size >= 10**9:
        return f"{size / 10**9:.1f} GB"
    if size >= 10**6:
        return f"{size / 10**6:.0f} MB"
    return f"{size / 10**3:.0f} kB"
