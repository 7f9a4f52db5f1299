"""The router as the simulator runs it: the same confidence policy as the service
(mitl_policy: core.route, calibration, verdicts, diversity) over in-memory state instead of the
`router` schema.

What the service keeps in Postgres lives here in lists and dicts: decisions per item, human
outcomes joined to them, learned thresholds, and the window of recently queued signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from mitl_contracts.datasets import Policy
from mitl_contracts.events import MAX_TEXT_CHARS, Decision, ItemContent, Prediction
from mitl_policy.calibration import learn_thresholds
from mitl_policy.calibration_cap import Candidate, over_cap
from mitl_policy.core import RouteContext, Routed, route
from mitl_policy.diversity import RecentSignatures, signature
from mitl_policy.escalation import EarlierPrediction
from mitl_policy.uncertainty import uncertainty
from mitl_policy.verdicts import Dated, Outcome, group_verdict, newest_first

from mitl_ml.sim.memory import RouterMemory


@dataclass(frozen=True)
class RoutedItem:
    item: int
    routed: Routed

    @property
    def decision(self) -> Decision:
        return self.routed.decision

    @property
    def review_priority(self) -> float:
        review = self.routed.review
        return review.priority if review is not None else -1.0


class SimRouter(RouterMemory):
    """Routes items of one dataset; `texts` feed the near-duplicate signatures. Its `earlier`
    holds the latest prediction per item, routed or only noted (shortlist.py)."""

    def __init__(self, dataset: str, labels: Sequence[str], policy: Policy, texts: list[str]):
        super().__init__(policy)
        self.dataset = dataset
        self.labels = list(labels)
        self.texts = texts
        # Outcomes per decision and each decision's verdict, updated for the decisions labeled
        # since the last relearn (what mitl_policy.verdicts computes from all outcomes).
        self._groups: dict[tuple[str, str], list[Outcome]] = {}
        self._dated: dict[tuple[str, str], Dated] = {}
        self._changed: set[tuple[str, str]] = set()
        self._signatures: dict[int, np.ndarray] = {}

    def relearn(self) -> None:
        """Recompute thresholds from every verified outcome, as the service does per batch."""
        for key in self._changed:
            self._dated[key] = group_verdict(self._groups[key])
        self._changed.clear()
        if self.policy.learns_thresholds:
            known = newest_first(self._dated.values())
            self.thresholds = learn_thresholds(known, self.labels, self.policy)

    def signature(self, item: int) -> np.ndarray:
        if item not in self._signatures:
            self._signatures[item] = signature(self.texts[item], self.policy.diversity_shingle)
        return self._signatures[item]

    def route_all(
        self, items: Sequence[int] | np.ndarray, probabilities: np.ndarray, model_version: str
    ) -> list[RoutedItem]:
        """Route `items` (rows of `probabilities`) in order of falling uncertainty, so that of
        near-duplicates the most uncertain is queued first and the rest are penalised."""
        now = self.tick()
        raw = np.array([uncertainty(p, self.policy.uncertainty) for p in probabilities])
        window = RecentSignatures(self.policy.diversity_window)
        out: list[RoutedItem] = []
        rows = np.argsort(-raw, kind="stable")
        predictions = [self.prediction(int(items[row]), probabilities[row], model_version)
                       for row in rows]  # fmt: skip
        # Every pending item is routed again each round (as the platform re-scores the queue
        # on promotion), so no calibration review of an earlier version is still queued.
        capped, _ = over_cap(
            [Candidate(p.item_id, model_version, *p.top) for p in predictions],
            self.thresholds,
            self.policy,
        )
        for prediction, is_capped in zip(predictions, capped, strict=True):
            item = int(prediction.item_id)
            similarity = 0.0
            if self.policy.diversity_weight > 0:
                similarity = window.max_similarity(str(item), self.signature(item))
            context = RouteContext(
                thresholds=self.thresholds,
                similarity=similarity,
                earlier=self.earlier.get(item),
                calibration_capped=is_capped,
            )
            routed = route(prediction, self.policy, now=now, context=context)
            self.remember(item, prediction, routed.decision)
            if routed.review is not None and self.policy.diversity_weight > 0:
                window.add(str(item), self.signature(item))
            out.append(RoutedItem(item, routed))
        return out

    def prediction(self, item: int, probabilities: np.ndarray, model_version: str) -> Prediction:
        probs = probabilities / probabilities.sum()
        return Prediction(
            event_id=f"prediction-{item}-{model_version}",
            dataset=self.dataset,
            item_id=str(item),
            # One SMS row holds a whole garbled file; the event limit applies to it too.
            content=ItemContent(text=self.texts[item][:MAX_TEXT_CHARS]),
            model_version=model_version,
            labels=self.labels,
            probabilities=[float(p) for p in probs],
        )

    def note(self, items: Sequence[int] | np.ndarray, labels: Sequence[str], version: str) -> None:
        """Items scored by `version` but not routed (shortlist.py): their predicted labels are
        what a later version's prediction is compared with, as if they had been routed."""
        for item, label in zip(items, labels, strict=True):
            self.earlier[int(item)] = EarlierPrediction(version, label)

    def verify(self, item: int, label: int, source: str, spot_check: bool) -> None:
        """A person labeled `item`: join the label to the item's latest decision."""
        outcome = self.record(item, str(item), self.labels[label], source, spot_check)
        key = (outcome.item_id, outcome.model_version)
        self._groups.setdefault(key, []).append(outcome)
        self._changed.add(key)
