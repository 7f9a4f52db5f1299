"""What a simulated router keeps between rounds (router.py, multilabel.py, spans.py): its latest
decision per item, people's outcomes joined to them, the thresholds learned from those, each
item's earlier prediction (for the new-model escalation rule), and a clock for event times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Decision, Prediction
from mitl_policy.calibration import Thresholds
from mitl_policy.core import CALIBRATION_PRIORITY, RouteContext
from mitl_policy.escalation import EarlierPrediction
from mitl_policy.tasks import outcome_confidences
from mitl_policy.verdicts import Outcome, decided_fields, joined

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class RouterMemory:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.outcomes: list[Outcome] = []
        self.thresholds: Thresholds | None = None
        self.decisions: dict[int, Decision] = {}
        self.confidences: dict[int, dict[str, float] | None] = {}
        self.earlier: dict[int, EarlierPrediction] = {}
        self._clock = 0

    def tick(self) -> datetime:
        self._clock += 1
        return EPOCH + timedelta(seconds=self._clock)

    def context(self, item: int) -> RouteContext:
        """What the router knows of `item` besides its prediction."""
        return RouteContext(thresholds=self.thresholds, earlier=self.earlier.get(item))

    def remember(self, item: int, prediction: Prediction, decision: Decision) -> Decision:
        """Keep `item`'s latest decision, its label as the item's earlier prediction, and the
        per-part confidences an outcome of it keeps (as the router does, by the task)."""
        self.decisions[item] = decision
        self.confidences[item] = outcome_confidences(prediction)
        self.earlier[item] = EarlierPrediction(decision.model_version, decision.predicted_label)
        return decision

    def is_calibration(self, item: int) -> bool:
        decision = self.decisions[item]
        return decision.route == "review" and decision.priority >= CALIBRATION_PRIORITY

    def record(self, item: int, item_id: str, label: str, source: str, spot_check: bool) -> Outcome:
        """A person gave `item` (`item_id` in events) `label`: join it to its latest decision."""
        decision = self.decisions[item]
        outcome = joined(
            {**decided_fields(decision), "spot_check": spot_check},
            event_id=f"label-{item}-{len(self.outcomes)}",
            item_id=item_id,
            label=label,
            source=source,
            occurred_at=self.tick(),
            label_confidences=self.confidences[item],
        )
        self.outcomes.append(outcome)
        return outcome
