"""The router's pure batch step on a multi-label dataset: predictions without a probability
per label are refused (dead-lettered) with the reason; the others are routed by label set."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from mitl_contracts.datasets import Catalog, Dataset, Policy
from mitl_contracts.events import ItemContent, Prediction, distribution_of
from mitl_router.core import BatchContext, DriftState, check_prediction, route_batch
from mitl_runtime.consumer import decode
from mitl_runtime.dlq import InvalidMessage

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LABELS = ["a", "b", "c"]
CATALOG = Catalog(
    datasets={
        "ml": Dataset(
            name="ml", task="multilabel", input_kind="vector", vector_dim=2, labels=LABELS,
            policy=Policy(version="ml-v1", accept_threshold=0.9, escalation_floor=0.1),
        ),
        "single": Dataset(name="single", labels=LABELS),
    }
)  # fmt: skip


def prediction(dataset: str, per_label: dict[str, float] | None, item: str = "i1") -> Prediction:
    values = [0.2, 0.3, 0.5] if per_label is None else [per_label[x] for x in LABELS]
    return Prediction(
        event_id=f"p-{item}", dataset=dataset, item_id=item,
        content=ItemContent(vector=[0.0, 1.0]), model_version="m1", labels=LABELS,
        probabilities=distribution_of(values), label_probabilities=per_label,
    )  # fmt: skip


def test_multilabel_dataset_refuses_a_prediction_without_label_probabilities() -> None:
    with pytest.raises(InvalidMessage, match="no label_probabilities") as refused:
        check_prediction(prediction("ml", None), CATALOG)
    assert refused.value.kind == "label_probabilities"
    with pytest.raises(InvalidMessage, match="single-label"):
        check_prediction(prediction("single", {"a": 0.9, "b": 0.1, "c": 0.2}), CATALOG)
    check_prediction(prediction("ml", {"a": 0.9, "b": 0.1, "c": 0.2}), CATALOG)


def test_a_missing_label_probability_never_parses() -> None:
    with pytest.raises(ValueError, match="no probability for label"):
        Prediction(
            dataset="ml", item_id="i", content=ItemContent(vector=[0.0, 1.0]),
            model_version="m1", labels=LABELS, probabilities=[0.2, 0.3, 0.5],
            label_probabilities={"a": 0.9, "b": 0.1},
        )  # fmt: skip


def test_route_batch_routes_multilabel_predictions_by_label_set() -> None:
    sure = prediction("ml", {"a": 0.97, "b": 0.02, "c": 0.95}, "i1")
    unsure = prediction("ml", {"a": 0.97, "b": 0.55, "c": 0.95}, "i2")
    context = BatchContext(
        now=NOW, drift=DriftState(), learned={("ml", "m1"): None}, earlier={("ml", "m1"): {}}
    )
    out = route_batch([sure, unsure], CATALOG, context)
    first, second = (decision for _, decision in out.pairs)
    assert first.route == "accept" and first.predicted_labels == ["a", "c"]
    assert second.route == "review" and "label b" in second.reason
    [label] = out.labels
    assert label.labels == ["a", "c"] and label.label == "a|c"
    [review] = out.reviews
    assert review.suggested_labels == ["a", "b", "c"]


def test_a_text_multilabel_prediction_missing_a_label_is_dead_lettered() -> None:
    text_catalog = Catalog(
        datasets={"tweets": Dataset(name="tweets", task="multilabel", labels=LABELS)}
    )
    sent = {
        "event_id": "p-t1", "dataset": "tweets", "item_id": "t1",
        "content": {"text": "Beyonce in Houston"}, "model_version": "m1", "labels": LABELS,
        "probabilities": [0.5, 0.3, 0.2], "label_probabilities": {"a": 0.9, "b": 0.1},
    }  # fmt: skip
    with pytest.raises(InvalidMessage, match=r"no probability for label\(s\) c"):
        decode(Prediction, json.dumps(sent).encode())
    without = {key: value for key, value in sent.items() if key != "label_probabilities"}
    with pytest.raises(InvalidMessage, match="no label_probabilities"):
        check_prediction(decode(Prediction, json.dumps(without).encode()), text_catalog)
    whole = sent | {"label_probabilities": {"a": 0.9, "b": 0.1, "c": 0.2}}
    check_prediction(decode(Prediction, json.dumps(whole).encode()), text_catalog)
