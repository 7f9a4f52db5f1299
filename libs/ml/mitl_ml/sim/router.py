"""The router as the simulator runs it: the same confidence policy as the service
(mitl_policy: core.route, calibration, verdicts, diversity) over in-memory state instead of the
`router` schema.

What the service keeps in Postgres lives here in lists and dicts: decisions per item, human
outcomes joined to them, learned thresholds, and the window of recently queued signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from mitl_contracts.datasets import Policy
from mitl_contracts.events import MAX_TEXT_CHARS, Decision, ItemContent, Prediction
from mitl_policy.calibration import Thresholds, learn_thresholds
from mitl_policy.core import CALIBRATION_PRIORITY, RouteContext, Routed, route
from mitl_policy.diversity import RecentSignatures, signature
from mitl_policy.escalation import EarlierPrediction
from mitl_policy.uncertainty import uncertainty
from mitl_policy.verdicts import Dated, Outcome, group_verdict, newest_first

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


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


class SimRouter:
    """Routes items of one dataset; `texts` feed the near-duplicate signatures."""

    def __init__(self, dataset: str, labels: Sequence[str], policy: Policy, texts: list[str]):
        self.dataset = dataset
        self.labels = list(labels)
        self.policy = policy
        self.texts = texts
        self.outcomes: list[Outcome] = []
        # Outcomes per decision and each decision's verdict, updated for the decisions labeled
        # since the last relearn (what mitl_policy.verdicts computes from all outcomes).
        self._groups: dict[tuple[str, str], list[Outcome]] = {}
        self._dated: dict[tuple[str, str], Dated] = {}
        self._changed: set[tuple[str, str]] = set()
        self.thresholds: Thresholds | None = None
        self.decisions: dict[int, Decision] = {}
        # The latest prediction per item, routed or only noted (shortlist.py).
        self.earlier: dict[int, EarlierPrediction] = {}
        self._signatures: dict[int, np.ndarray] = {}
        self._clock = 0

    def tick(self) -> datetime:
        self._clock += 1
        return EPOCH + timedelta(seconds=self._clock)

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
        for row in np.argsort(-raw, kind="stable"):
            item = int(items[row])
            probs = probabilities[row] / probabilities[row].sum()
            prediction = Prediction(
                event_id=f"prediction-{item}-{model_version}",
                dataset=self.dataset,
                item_id=str(item),
                # One SMS row holds a whole garbled file; the event limit applies to it too.
                content=ItemContent(text=self.texts[item][:MAX_TEXT_CHARS]),
                model_version=model_version,
                labels=self.labels,
                probabilities=[float(p) for p in probs],
            )
            similarity = 0.0
            if self.policy.diversity_weight > 0:
                similarity = window.max_similarity(str(item), self.signature(item))
            context = RouteContext(
                thresholds=self.thresholds, similarity=similarity, earlier=self.earlier.get(item)
            )
            routed = route(prediction, self.policy, now=now, context=context)
            self.decisions[item] = routed.decision
            self.earlier[item] = EarlierPrediction(model_version, routed.decision.predicted_label)
            if routed.review is not None and self.policy.diversity_weight > 0:
                window.add(str(item), self.signature(item))
            out.append(RoutedItem(item, routed))
        return out

    def is_calibration(self, item: int) -> bool:
        """Was the item's latest decision a calibration review (a blind random draw)?"""
        decision = self.decisions[item]
        return decision.route == "review" and decision.priority >= CALIBRATION_PRIORITY

    def note(self, items: Sequence[int] | np.ndarray, labels: Sequence[str], version: str) -> None:
        """Items scored by `version` but not routed (shortlist.py): their predicted labels are
        what a later version's prediction is compared with, as if they had been routed."""
        for item, label in zip(items, labels, strict=True):
            self.earlier[int(item)] = EarlierPrediction(version, label)

    def verify(self, item: int, label: int, source: str, spot_check: bool) -> None:
        """A person labeled `item`: join the label to the item's latest decision."""
        decision = self.decisions[item]
        outcome = Outcome(
            event_id=f"label-{item}-{len(self.outcomes)}",
            item_id=str(item),
            model_version=decision.model_version,
            predicted_label=decision.predicted_label,
            confidence=decision.confidence,
            label=self.labels[label],
            source=source,
            spot_check=spot_check,
            occurred_at=self.tick(),
            calibration_rate=decision.thresholds.get("calibration_rate"),
        )
        self.outcomes.append(outcome)
        key = (outcome.item_id, outcome.model_version)
        self._groups.setdefault(key, []).append(outcome)
        self._changed.add(key)
