"""Which verified items are held out for evaluation. Pure: no I/O.

An item's side is a function of its id alone (a sha256 of dataset and item id compared with the
fraction), not of which other items exist or in which order they came: an item held out once
is held out in every later run, so no model is ever evaluated on items an earlier model of the
same dataset was trained on.
"""

from __future__ import annotations

import hashlib

SCALE = 2**64


def holdout_draw(dataset: str, item_id: str) -> float:
    """A number in [0, 1), uniform over item ids and fixed for each."""
    digest = hashlib.sha256(f"mitl-holdout\x00{dataset}\x00{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / SCALE


def in_holdout(dataset: str, item_id: str, fraction: float) -> bool:
    """Whether the item belongs to the held-out share `fraction` (0 < fraction < 1)."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction {fraction} must be within (0, 1)")
    return holdout_draw(dataset, item_id) < fraction
