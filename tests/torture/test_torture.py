"""A seeded sample of the torture run: one fault per case at every phase, every kind.

The full run (hundreds of cases) is `bench/torture.py`; docs/reliability.md has its figures.
"""

import pytest

from tests.support.torture import KINDS, PHASES, Bench, cases

SAMPLE = cases(60, seed=20261126)


def test_the_sample_covers_every_phase_and_kind():
    assert {case.phase for case in SAMPLE} == set(PHASES)
    assert {case.kind for case in SAMPLE} == set(KINDS)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return Bench(tmp_path_factory.mktemp("torture"))


@pytest.mark.parametrize("case", SAMPLE, ids=lambda case: f"{case.number}-{case.phase}-{case.kind}".replace(" ", "_"))
def test_invariants_hold_after_the_fault(bench, case):
    outcome = bench.run(case)
    assert outcome.violations == [], f"first run {outcome.first}, second {outcome.second}"
