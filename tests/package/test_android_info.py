import pytest

from flasher.package.android_info import AndroidInfoError, Requirement, parse_android_info, products

PIXEL_STYLE = """require board=sailfish|marlin

require version-bootloader=8996-012001-1904111800
require version-baseband=8996-130091-1905270421
"""


def test_the_lines_factory_images_carry():
    board, bootloader, baseband = parse_android_info(PIXEL_STYLE)
    assert board == Requirement("product", ("sailfish", "marlin"))
    assert bootloader.variable == "version-bootloader" and baseband.variable == "version-baseband"
    assert products(parse_android_info(PIXEL_STYLE)) == ("sailfish", "marlin")


def test_an_aosp_builds_own_file_implies_require_and_short_names_are_variables():
    assert parse_android_info("board=P855A01\nbootloader=B05\nbaseband=M1\n") == (
        Requirement("product", ("P855A01",)), Requirement("version-bootloader", ("B05",)),
        Requirement("version-baseband", ("M1",)))


def test_reject_for_product_and_partition_exists():
    reject, scoped, exists = parse_android_info(
        "reject product=walleye\nrequire-for-product:marlin version-baseband=8996-130*\n"
        "require partition-exists=vendor_dlkm\n")
    assert reject.reject and not reject.met_by("walleye") and reject.met_by("sailfish")
    assert scoped.for_product == "marlin" and scoped.applies_to("marlin") and not scoped.applies_to("sailfish")
    assert scoped.met_by("8996-130091-1905270421") and not scoped.met_by("8996-131")
    assert exists.variable == "has-slot:vendor_dlkm" and exists.partition == "vendor_dlkm"
    assert exists.met_by("no") and exists.met_by("yes")
    assert products((reject, scoped, exists)) == ()


def test_a_value_matches_exactly_unless_it_ends_with_a_star():
    (requirement,) = parse_android_info("require version-bootloader=B05|C*\n")
    assert requirement.met_by("B05") and requirement.met_by("C1") and not requirement.met_by("B050")


@pytest.mark.parametrize("text", [
    "flash boot\n",                                # not a requirement
    "require product=\n",                          # no value
    "require =P855A01\n",                          # no variable
    "require pro/duct=x\n",                        # not a variable name
    "require partition-exists=a|b\n",              # one partition only
    "require product=" + "|".join(["x"] * 65) + "\n",
    "require product=x\n" * 257,
    "require product=" + "x" * 70000 + "\n",
])
def test_hostile_lines_are_refused_by_name(text):
    with pytest.raises(AndroidInfoError):
        parse_android_info(text)
