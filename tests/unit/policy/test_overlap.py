"""Which reviewed items several annotators label: a draw fixed by dataset and item id."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Policy
from mitl_policy.overlap import annotators_for, overlap_draw


def test_no_overlap_by_default_and_never_for_expert_work() -> None:
    assert all(annotators_for(Policy(), "d", f"i{n}", "annotator") == 1 for n in range(200))
    every = Policy(overlap_rate=1.0, overlap_annotators=3)
    assert annotators_for(every, "d", "i1", "annotator") == 3
    assert annotators_for(every, "d", "i1", "expert") == 1


def test_the_draw_is_fixed_by_dataset_and_item_and_hits_the_rate() -> None:
    assert overlap_draw("d", "i1") == overlap_draw("d", "i1")
    assert overlap_draw("d", "i1") != overlap_draw("e", "i1")
    policy = Policy(overlap_rate=0.2)
    picked = [annotators_for(policy, "d", f"item-{n}", "annotator") for n in range(5000)]
    assert set(picked) == {1, 2}
    assert picked.count(2) / len(picked) == pytest.approx(0.2, abs=0.02)
    # A higher rate keeps every item a lower rate picked (the same draw, a higher bar).
    wider = Policy(overlap_rate=0.5)
    assert all(
        annotators_for(wider, "d", f"item-{n}", "annotator") == 2
        for n, k in enumerate(picked)
        if k == 2
    )
