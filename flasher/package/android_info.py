"""android-info.txt: what factory images require of the handset, as the stock client reads it.

Each line names a bootloader variable and the values it may have:

    require board=sailfish|marlin          (`board` is the `product` variable)
    require version-bootloader=8996-012001-1904111800
    require-for-product:marlin version-baseband=8996-130*
    reject product=walleye
    require partition-exists=vendor_dlkm
    board=sailfish                         (an AOSP build's own file: "require" is implied)

A value ending in `*` matches every value starting with the rest. `baseband` and
`bootloader` are short for `version-baseband` and `version-bootloader`. The text is
hostile: its size and line count are bounded, and a line that is none of the above is
refused by name rather than read past, as the stock client refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ManifestError

MAX_ANDROID_INFO_BYTES = 64 * 1024
MAX_REQUIREMENTS = 256
MAX_OPTIONS = 64
PARTITION_EXISTS = "partition-exists"
_ALIASES = {"board": "product", "baseband": "version-baseband", "bootloader": "version-bootloader"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z")
_LINE = re.compile(r"(?:(require|reject)\s+)?(\S+?)\s*=\s*(.*)\Z")
_FOR_PRODUCT = re.compile(r"require-for-product:\s*(\S+)\s+(\S+?)\s*=\s*(.*)\Z")


class AndroidInfoError(ManifestError):
    hint = "The factory images' android-info.txt is damaged; download the factory images again."


@dataclass(frozen=True)
class Requirement:
    variable: str
    """The bootloader variable asked (`product`, `version-bootloader`, `has-slot:vendor_dlkm`)."""
    options: tuple[str, ...]
    reject: bool = False
    """The handset must have none of the options."""
    for_product: str | None = None
    """Applies only to handsets of this product."""

    @property
    def partition(self) -> str | None:
        """For `partition-exists`: the partition the handset must have."""
        return self.variable.removeprefix("has-slot:") if self.variable.startswith("has-slot:") else None

    def applies_to(self, product: str | None) -> bool:
        return self.for_product is None or self.for_product == product

    def met_by(self, value: str) -> bool:
        if self.partition is not None:
            return value in ("yes", "no")  # the handset knows the partition, slotted or not
        matched = any(value == option or (option.endswith("*") and value.startswith(option[:-1]))
                      for option in self.options)
        return matched != self.reject

    def describe(self) -> str:
        if self.partition is not None:
            return f"partition {self.partition} exists"
        verb = "is not" if self.reject else "is"
        scope = f" (on {self.for_product})" if self.for_product else ""
        return f"{self.variable} {verb} {' or '.join(self.options)}{scope}"


def parse_android_info(text: str) -> tuple[Requirement, ...]:
    if len(text.encode("utf-8", "replace")) > MAX_ANDROID_INFO_BYTES:
        raise AndroidInfoError(f"android-info.txt is larger than {MAX_ANDROID_INFO_BYTES} bytes")
    requirements = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        requirements.append(_requirement(line, number))
        if len(requirements) > MAX_REQUIREMENTS:
            raise AndroidInfoError(f"android-info.txt has more than {MAX_REQUIREMENTS} requirements")
    return tuple(requirements)


def products(requirements: tuple[Requirement, ...]) -> tuple[str, ...]:
    """The products the images are for: every handset-wide `require product=` option, in order."""
    found: list[str] = []
    for requirement in requirements:
        if requirement.variable == "product" and not requirement.reject and requirement.for_product is None:
            found.extend(option for option in requirement.options if option not in found)
    return tuple(found)


@dataclass(frozen=True)
class Verdict:
    requirement: Requirement
    value: str | None
    """What the handset reports; None where it does not."""
    met: bool | None
    """None: the requirement is for another product."""


def judge(requirements: tuple[Requirement, ...], product: str | None, value_of) -> list[Verdict]:
    """Each requirement against the handset (`value_of(variable)`, None where not reported), as
    the stock client checks them: one the handset does not answer is not met."""
    verdicts = []
    for requirement in requirements:
        if not requirement.applies_to(product):
            verdicts.append(Verdict(requirement, None, None))
            continue
        value = product if requirement.variable == "product" else value_of(requirement.variable)
        verdicts.append(Verdict(requirement, value or None, bool(value) and requirement.met_by(value)))
    return verdicts


def _requirement(line: str, number: int) -> Requirement:
    product = None
    if match := _FOR_PRODUCT.match(line):
        product, name, values = match.groups()
        reject = False
    elif match := _LINE.match(line):
        verb, name, values = match.groups()
        reject = verb == "reject"
    else:
        raise AndroidInfoError(f"android-info.txt line {number} is not `require NAME=VALUE|...`")
    name = _ALIASES.get(name, name)
    options = tuple(option.strip() for option in values.split("|") if option.strip())
    if name in ("require", "reject") or not _NAME.match(name) or (product is not None and not _NAME.match(product)):
        raise AndroidInfoError(f"android-info.txt line {number} names no variable a handset could have")
    if not options or len(options) > MAX_OPTIONS or any(len(option) > 128 for option in options):
        raise AndroidInfoError(f"android-info.txt line {number} gives no value, or too many, for {name}")
    if name == PARTITION_EXISTS:
        if reject or len(options) != 1 or not _NAME.match(options[0]):
            raise AndroidInfoError(f"android-info.txt line {number}: partition-exists names one partition")
        return Requirement(f"has-slot:{options[0]}", options, for_product=product)
    return Requirement(name, options, reject, product)
