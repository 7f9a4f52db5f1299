"""The holdout split: a fixed side per item, the asked share of items, independent of order."""

from __future__ import annotations

import pytest
from mitl_trainer.core.split import holdout_draw, in_holdout


def test_an_item_keeps_its_side_and_datasets_split_independently() -> None:
    assert in_holdout("trec6", "item-1", 0.2) == in_holdout("trec6", "item-1", 0.2)
    assert holdout_draw("trec6", "item-1") != holdout_draw("other", "item-1")
    # A larger share only adds items: what was held out stays held out.
    ids = [f"item-{n}" for n in range(2000)]
    small = {i for i in ids if in_holdout("trec6", i, 0.1)}
    large = {i for i in ids if in_holdout("trec6", i, 0.3)}
    assert small < large


def test_the_share_held_out_is_close_to_the_fraction() -> None:
    held = sum(in_holdout("trec6", f"i{n}", 0.2) for n in range(20_000))
    assert held / 20_000 == pytest.approx(0.2, abs=0.01)


def test_a_fraction_outside_zero_and_one_is_refused() -> None:
    for fraction in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="within"):
            in_holdout("trec6", "i", fraction)
