"""The router's pure batch step on a span dataset: a prediction whose spans overlap where the
dataset forbids it, run outside the text or carry a label the dataset lacks is refused
(dead-lettered) with the reason; the others are routed by span set."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mitl_contracts.datasets import Catalog, Dataset, Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_contracts.spans import Span
from mitl_router.core import BatchContext, DriftState, check_prediction, route_batch
from mitl_runtime.dlq import InvalidMessage

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LABELS = ["person", "place"]
TEXT = "Ada met Bob in Rome"
POLICY = Policy(version="ner-v1", accept_threshold=0.9, escalation_floor=0.1)
CATALOG = Catalog(
    datasets={
        "ner": Dataset(name="ner", task="spans", labels=LABELS, policy=POLICY),
        "nested": Dataset(name="nested", task="spans", labels=LABELS, allow_overlap=True),
        "single": Dataset(name="single", labels=LABELS),
    }
)


def prediction(dataset: str, spans: list[Span] | None, item: str = "i1",
               complete: float = 0.95) -> Prediction:  # fmt: skip
    return Prediction(
        event_id=f"p-{item}", dataset=dataset, item_id=item, content=ItemContent(text=TEXT),
        model_version="m1", labels=LABELS, probabilities=[0.5, 0.5], spans=spans,
        spans_complete=None if spans is None else complete,
    )  # fmt: skip


def span(start: int, end: int, label: str = "person", confidence: float = 0.97) -> Span:
    return Span(start=start, end=end, label=label, confidence=confidence)


def test_span_faults_are_refused_with_the_reason() -> None:
    overlapping = [span(0, 3), span(2, 6, "place")]
    with pytest.raises(InvalidMessage, match="overlap") as refused:
        check_prediction(prediction("ner", overlapping), CATALOG)
    assert refused.value.kind == "spans"
    check_prediction(prediction("nested", overlapping), CATALOG)  # this dataset allows it
    with pytest.raises(InvalidMessage, match="labels spans; the prediction has none"):
        check_prediction(prediction("ner", None), CATALOG)
    with pytest.raises(InvalidMessage, match="is single; the prediction has spans"):
        check_prediction(prediction("single", [span(0, 3)]), CATALOG)
    check_prediction(prediction("ner", [span(0, 3)]), CATALOG)


def test_spans_outside_the_text_or_with_an_unknown_label_never_parse() -> None:
    with pytest.raises(ValueError, match="runs outside the text"):
        prediction("ner", [span(15, 40, "place")])
    with pytest.raises(ValueError, match="'company', not one of the dataset's labels"):
        prediction("ner", [span(0, 3, "company")])


def test_route_batch_routes_span_predictions_by_span_set() -> None:
    sure = prediction("ner", [span(0, 3), span(15, 19, "place", 0.99)], "i1")
    unsure = prediction("ner", [span(0, 3), span(8, 11, confidence=0.55)], "i2")
    context = BatchContext(
        now=NOW, drift=DriftState(), learned={("ner", "m1"): None}, earlier={("ner", "m1"): {}}
    )
    out = route_batch([sure, unsure], CATALOG, context)
    first, second = (decision for _, decision in out.pairs)
    assert first.route == "accept" and first.predicted_label == "0:3:person|15:19:place"
    assert first.predicted_spans == sure.spans and first.spans_complete == 0.95
    assert second.route == "review" and "span 8:11:person" in second.reason
    [label] = out.labels
    assert label.label == "0:3:person|15:19:place"
    assert [s.key for s in label.spans or []] == ["0:3:person", "15:19:place"]
    [review] = out.reviews
    assert review.suggested_spans == unsure.spans and review.spans_complete == 0.95
