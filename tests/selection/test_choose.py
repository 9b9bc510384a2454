"""Choosing: the newest allowed build, as a delta only from exactly the handset's build."""

from dataclasses import replace

import pytest

from flasher.package.summary import VENDOR_OTA
from flasher.selection.choose import (CATALOG, LIBRARY, SIDELOAD, Candidate, Identity, NoUpdateFor, OnlyForUnlocked,
                                      build_order, choose, size_text)

MB, GB = 10**6, 10**9


def package(build, kind="full", source=None, *, size=2_100 * MB, rollback=5, product="P855A01",
            revisions=("r1", "r2"), origin=CATALOG, install="fastboot"):
    return Candidate(f"{product}-{source + '-' if source else ''}{build}-{install}", product, revisions, build,
                     rollback, kind, source, install, size=size, location=f"{origin}:{build}:{source}:{size}:{install}",
                     origin=origin, sha256="ab" * 32)


def ota(build, *, size=2_300 * MB, **changes):
    """The manufacturer's signed update: a full package that recovery installs."""
    return package(build, size=size, install=SIDELOAD, **changes)


def handset(build="B120", *, rollback=5, revision="r1", product="P855A01", locked=False):
    return Identity("SER1", product, revision, build, rollback, locked)


OFFER = [package("B110"), package("B120"), package("B130"),
         package("B130", "delta", "B120", size=38 * MB), package("B130", "delta", "B115", size=40 * MB)]


def test_a_handset_on_the_deltas_source_gets_the_delta_with_the_full_as_fallback():
    choice = choose(handset("B120"), OFFER)
    assert (choice.package.type, choice.package.source_build, choice.package.build) == ("delta", "B120", "B130")
    assert choice.fallback == package("B130")
    assert choice.reason == "delta 38 MB from B120 to B130"


def test_a_handset_on_another_build_gets_the_full_package():
    choice = choose(handset("B110"), OFFER)
    assert choice.package == package("B130") and choice.fallback is None
    assert choice.reason == "full 2.1 GB: no delta from B110"


def test_a_delta_needs_exactly_the_handsets_build():
    assert choose(handset("B12"), OFFER).package.type == "full"
    assert choose(handset("B120a"), OFFER).package.type == "full"


def test_nothing_below_the_handsets_rollback_index():
    offer = [package("B130", rollback=4), package("B125", rollback=6)]
    choice = choose(handset("B120", rollback=5), offer)
    assert choice.package.build == "B125"
    assert "B130 has no full package" not in choice.reason
    with pytest.raises(NoUpdateFor) as nothing:
        choose(handset("B120", rollback=7), offer)
    assert nothing.value.up_to_date  # nothing it may take is newer


def test_never_a_downgrade_and_up_to_date_is_said_so():
    with pytest.raises(NoUpdateFor, match="runs B130, the newest") as newest:
        choose(handset("B130"), OFFER)
    assert newest.value.up_to_date
    with pytest.raises(NoUpdateFor) as newer:
        choose(handset("B140"), OFFER)
    assert newer.value.up_to_date


def test_builds_compare_digit_runs_as_numbers():
    assert build_order("B99") < build_order("B120") < build_order("B1000")
    assert build_order("V1.2.9") < build_order("V1.2.10")
    choice = choose(handset("B99"), [package("B1000"), package("B120")])
    assert choice.package.build == "B1000"


def test_only_the_handsets_product_and_hardware_revision():
    offer = [package("B140", product="P999"), package("B150", revisions=("r9",)), package("B130")]
    assert choose(handset("B120"), offer).package.build == "B130"
    with pytest.raises(NoUpdateFor, match="no package for P855A01 hardware r3") as none:
        choose(handset("B120", revision="r3"), offer)
    assert not none.value.up_to_date


def test_a_handset_that_does_not_report_its_build_gets_nothing_chosen():
    with pytest.raises(NoUpdateFor, match="does not report its build") as unknown:
        choose(handset(""), OFFER)
    assert "explicit package" in unknown.value.hint and not unknown.value.up_to_date


def test_the_newest_reachable_build_when_the_newest_has_no_path():
    offer = [package("B125"), package("B130", "delta", "B125", size=30 * MB)]
    choice = choose(handset("B120"), offer)
    assert choice.package.build == "B125"
    assert choice.reason == "full 2.1 GB: no delta from B120; B130 has no full package and no delta from B120"
    with pytest.raises(NoUpdateFor, match="B130 has no full package and no delta from B110"):
        choose(handset("B110"), [package("B130", "delta", "B125")])


def test_the_smallest_path_and_a_library_copy_before_a_download():
    offer = [package("B130", "delta", "B120", size=50 * MB), package("B130", "delta", "B120", size=38 * MB),
             package("B130", "delta", "B120", size=38 * MB, origin=LIBRARY),
             package("B130"), package("B130", origin=LIBRARY)]
    choice = choose(handset("B120"), offer)
    assert (choice.package.size, choice.package.origin) == (38 * MB, LIBRARY)
    assert choice.fallback.origin == LIBRARY


def test_a_locked_handset_takes_the_sideload_package_even_where_a_delta_would_fit():
    offer = [*OFFER, ota("B130"), ota("B120")]
    choice = choose(handset("B120", locked=True), offer)
    assert choice.package == ota("B130") and choice.fallback is None
    assert choice.reason == "full 2.3 GB through recovery: the bootloader is locked"


def test_an_unlocked_handset_prefers_fastboot_and_sideloads_only_what_nothing_else_reaches():
    offer = [*OFFER, ota("B130", size=10 * MB)]  # smaller, but a fastboot path exists
    assert choose(handset("B120"), offer).package.type == "delta"
    assert choose(handset("B110"), offer).package == package("B130")
    only_ota = [ota("B140"), package("B140", "delta", "B110")]
    choice = choose(handset("B120"), only_ota)
    assert choice.package == ota("B140")
    assert choice.reason == "full 2.3 GB through recovery: no delta from B120 and no full package for fastboot"
    delta = choose(handset("B110"), only_ota)  # a delta that does not apply falls back to the sideload package
    assert delta.package.type == "delta" and delta.fallback == ota("B140")


def test_a_locked_handset_gets_the_newest_build_it_can_take_and_is_told_what_it_misses():
    offer = [package("B140"), ota("B130"), ota("B125")]
    choice = choose(handset("B120", locked=True), offer)
    assert choice.package == ota("B130")
    assert choice.reason == ("full 2.3 GB through recovery: the bootloader is locked; "
                             "B140 has no package for a locked bootloader")
    with pytest.raises(NoUpdateFor) as newest:  # the rollback index and the build still rule
        choose(handset("B130", locked=True, rollback=9), [*offer, ota("B131", rollback=8)])
    assert newest.value.up_to_date


def test_a_locked_handset_offered_only_fastboot_packages_is_told_what_to_do():
    with pytest.raises(OnlyForUnlocked) as refused:
        choose(handset("B120", locked=True), OFFER)
    assert not refused.value.up_to_date
    assert str(refused.value) == ("SER1 runs B120 and its bootloader is locked: B130 is offered only for unlocked "
                                  "bootloaders")
    assert "manufacturer's signed update for P855A01" in refused.value.hint
    assert "unlock the bootloader (this erases the user's data)" in refused.value.hint
    with pytest.raises(NoUpdateFor, match="B130, B125 are offered only"):
        choose(handset("B120", locked=True), [package("B125"), package("B130")])


@pytest.mark.parametrize("size, text", [(2_100 * MB, "2.1 GB"), (38 * MB, "38 MB"), (3247, "3 kB")])
def test_sizes_read_as_firmware_sizes_do(size, text):
    assert size_text(size) == text


def vendor_ota(build, kind="full", source=None, *, size=2_400 * MB, **changes):
    """The manufacturer's payload.bin zip, as the library indexes it: no rollback index, no hardware revisions."""
    return replace(package(build, kind, source, size=size, rollback=None, revisions=(), origin=LIBRARY, **changes),
                   kind=VENDOR_OTA)


def test_a_full_vendor_ota_is_chosen_like_a_full_package_and_says_its_rollback_index_is_unknown():
    choice = choose(handset("B120", rollback=5), [package("B125"), vendor_ota("B130")])
    assert choice.package == vendor_ota("B130")
    assert choice.reason == ("full 2.4 GB: no delta from B120; its rollback index is not stated: the update "
                             "checks its vbmeta's before writing")
    assert choose(handset("B120", rollback=None), [vendor_ota("B130")]).reason == "full 2.4 GB: no delta from B120"


def test_a_vendor_ota_is_never_a_downgrade_and_is_for_its_product_only():
    with pytest.raises(NoUpdateFor) as newest:
        choose(handset("B130"), [vendor_ota("B120"), vendor_ota("B130")])
    assert newest.value.up_to_date
    with pytest.raises(NoUpdateFor, match="no package for P855A01"):
        choose(handset("B120"), [vendor_ota("B130", product="walleye")])


def test_a_delta_from_the_handsets_build_beats_the_full_ota_which_becomes_its_fallback():
    choice = choose(handset("B120"), [vendor_ota("B130"), package("B130", "delta", "B120", size=38 * MB)])
    assert choice.package.type == "delta" and choice.fallback == vendor_ota("B130")
    smaller = choose(handset("B120"), [vendor_ota("B130", size=GB), package("B130")])
    assert smaller.package == vendor_ota("B130", size=GB)  # among equal full packages the smaller wins


def test_a_locked_handset_never_gets_a_vendor_ota():
    with pytest.raises(OnlyForUnlocked):
        choose(handset("B120", locked=True), [vendor_ota("B130")])


def test_an_incremental_vendor_ota_from_the_handsets_build_is_chosen_as_a_delta():
    offer = [vendor_ota("B140"), vendor_ota("B140", "incremental", "B130", size=90 * MB),
             vendor_ota("B140", "incremental", "B120", size=80 * MB)]
    choice = choose(handset("B130"), offer)
    assert choice.package == vendor_ota("B140", "incremental", "B130", size=90 * MB)
    assert choice.fallback == vendor_ota("B140") and choice.reason.startswith("delta 90 MB from B130 to B140; ")
    assert choose(handset("B125"), offer).package == vendor_ota("B140")  # no OTA from B125: the full one
