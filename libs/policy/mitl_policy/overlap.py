"""Overlap: which reviewed items several annotators label, so that their agreement can be
measured (mitl_policy.agreement).

A share `overlap_rate` of the items sent to the annotator queue is labeled by
`overlap_annotators` different people. Which items is a draw fixed by the dataset and the item
id alone (not the request, the model version or the replica that handles it): every replica
picks the same items, and so does every later request for the same item. The draw is salted
apart from the router's spot-check and calibration draws, so the overlap sample is not the
same items as theirs.
"""

from __future__ import annotations

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Queue

from mitl_policy.core import unit_draw


def overlap_draw(dataset: str, item_id: str) -> float:
    """A uniform number in [0, 1) fixed by (dataset, item id)."""
    return unit_draw("overlap", dataset, item_id)


def annotators_for(policy: Policy, dataset: str, item_id: str, queue: Queue) -> int:
    """How many different people label the item's review task: `overlap_annotators` for an
    item of the overlap sample sent to the annotator queue, else 1. Expert work is never
    overlapped: an expert settles what annotators left open."""
    if queue != "annotator" or policy.overlap_rate <= 0:
        return 1
    if overlap_draw(dataset, item_id) < policy.overlap_rate:
        return policy.overlap_annotators
    return 1
