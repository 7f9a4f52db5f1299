"""What differs by a dataset's task (single, multilabel, spans) when thresholds are learned:
the confidences an outcome keeps of its decision, the verdicts thresholds are learned from,
and the labels they are learned for. One place to ask, for the router and the simulator."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mitl_contracts.datasets import Policy
from mitl_contracts.events import Prediction, Task

from mitl_policy.calibration import Verdict
from mitl_policy.multilabel import label_confidences, verdicts_of
from mitl_policy.spans import span_confidences, span_verdicts, threshold_labels
from mitl_policy.verdicts import Outcome, verdicts


def outcome_confidences(prediction: Prediction) -> dict[str, float] | None:
    """The per-part confidences an outcome of this prediction keeps (Outcome.
    label_confidences): each label's in/out confidence for a multi-label prediction, each
    span's and the complete claim's for a span prediction, else None."""
    if prediction.spans is not None:
        return span_confidences(prediction)
    return label_confidences(prediction)


def learning_verdicts(
    task: Task, outcomes: Iterable[Outcome], labels: Sequence[str], policy: Policy
) -> list[Verdict]:
    """The verdicts a dataset's thresholds are learned from, newest first."""
    if task == "spans":
        return span_verdicts(outcomes, policy)
    if task == "multilabel":
        return verdicts_of(outcomes, labels, policy)
    return verdicts(outcomes)


def learned_labels(task: Task, labels: Sequence[str]) -> list[str]:
    """The labels a dataset's thresholds are learned for (a span dataset adds COMPLETE)."""
    return threshold_labels(labels) if task == "spans" else list(labels)
