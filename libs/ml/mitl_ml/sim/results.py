"""What a simulated run reports: one flat, JSON-ready record per (method, dataset, seed)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CoverageResult:
    """Full-coverage mode: every item ends with a label, from the model or from a person.

    `auto_accepted` counts items the router accepted (spot-checked ones included: their
    pseudo-label was published); `model_labeled` those whose final label is the model's.
    Human labels split into `initial_labels` (the random start), `calibration_labels` (blind
    calibration reviews), `spot_checks` and review labels (the rest: active learning and
    experts). `certified_at`: human labels spent when a threshold was first certified (None:
    never).
    """

    method: str
    dataset: str
    seed: int
    target: float
    items: int
    human_labels: int = 0
    expert_labels: int = 0
    spot_checks: int = 0
    auto_accepted: int = 0
    accepted_correct: int = 0
    model_labeled: int = 0
    final_correct: int = 0
    rounds: int = 0
    initial_labels: int = 0
    calibration_labels: int = 0
    certified_at: int | None = None
    # Accepted precision from the spot checks: Wilson on them alone, and prediction-powered
    # (spot checks plus every accepted item's confidence; mitl_policy.ppi). None: no checks.
    precision_intervals: dict[str, object] | None = None
    details: dict[str, float] = field(default_factory=dict)
    # Multi-label runs count precision and accuracy per label decision: `accepted_correct` and
    # `final_correct` count right label decisions, this many per item (1: single-label).
    decisions_per_item: int = 1
    # Span runs (mitl_ml.sim.spans) count accepted precision at entity level: the spans of
    # accepted items, `accepted_correct` of them right; `final_correct` counts items whose
    # span set is exactly right. None: not a span run.
    accepted_spans: int | None = None

    @property
    def accepted_decisions(self) -> int:
        """What accepted precision is a share of: accepted items, label decisions or spans."""
        if self.accepted_spans is not None:
            return self.accepted_spans
        return self.auto_accepted * self.decisions_per_item

    @property
    def accepted_precision(self) -> float:
        decisions = self.accepted_decisions
        return self.accepted_correct / decisions if decisions else 1.0

    @property
    def task(self) -> str:
        if self.accepted_spans is not None:
            return "spans"
        return "multilabel" if self.decisions_per_item > 1 else "single"

    @property
    def review_labels(self) -> int:
        return self.human_labels - self.initial_labels - self.calibration_labels - self.spot_checks

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out |= {
            "mode": "coverage",
            "review_labels": self.review_labels,
            "human_share": round(self.human_labels / self.items, 4),
            "coverage": round(self.model_labeled / self.items, 4),
            "accepted_precision": round(self.accepted_precision, 4),
            "final_accuracy": round(self.final_correct / (self.items * self.decisions_per_item), 4),
        }
        return out


@dataclass
class BudgetCurve:
    """Budget mode: held-out accuracy after each retrain, against human labels spent."""

    method: str
    dataset: str
    seed: int
    labels: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)

    def accuracy_at(self, labels: int) -> float:
        """Accuracy of the last model trained on at most `labels` labels."""
        best = [a for n, a in zip(self.labels, self.accuracy, strict=True) if n <= labels]
        return best[-1] if best else 0.0

    def labels_to_reach(self, accuracy: float) -> int | None:
        for n, a in zip(self.labels, self.accuracy, strict=True):
            if a >= accuracy:
                return n
        return None

    def as_dict(self) -> dict[str, object]:
        return {"mode": "budget", **asdict(self)}
