from pathlib import Path

import pytest
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import ItemRaw
from mitl_ingest import core

CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "config" / "datasets.yaml")
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def raw(**fields: object) -> ItemRaw:
    return ItemRaw.model_validate({"dataset": "trec6", "external_id": "e1", **fields})


def test_item_ids_are_stable_and_distinct_per_dataset() -> None:
    assert core.item_id_for("a", "1") == core.item_id_for("a", "1")
    assert core.item_id_for("a", "1") != core.item_id_for("b", "1")
    item = raw(text="hi")
    assert core.ingested(item, "b1") == core.ingested(item, "b1")


def test_triage_accepts_a_valid_item() -> None:
    assert core.triage(raw(text="What is a fjord ?"), CATALOG) is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"dataset": "nope", "text": "x"}, "unknown dataset 'nope'"),
        ({"vector": [1.0]}, "takes text items, not vector"),
        ({"text": "x" * 2001}, "allows 2000"),
        (
            {
                "text": "x",
                "prediction": {"model_id": "m", "labels": ["a", "b"], "probabilities": [0.5, 0.5]},
            },
            "not the label set",
        ),
    ],
)
def test_triage_rejects_naming_the_problem(fields: dict, reason: str) -> None:
    outcome = core.triage(raw(**fields), CATALOG)
    assert outcome is not None and outcome.status == "rejected" and reason in (outcome.reason or "")


def test_client_prediction_is_reordered_to_the_dataset_label_order() -> None:
    item = raw(
        text="Who ?",
        prediction={
            "model_id": "m",
            "labels": LABELS[::-1],
            "probabilities": [0, 0, 0.9, 0.1, 0, 0],
        },
    )
    prediction = core.client_prediction(item, core.ingested(item, "b"), CATALOG)
    assert prediction is not None
    assert prediction.labels == LABELS and prediction.top == ("HUM", 0.9)
    assert prediction.source == "client" and prediction.model_version == "client:m"


def test_multilabel_dataset_needs_a_client_prediction_with_label_probabilities() -> None:
    from mitl_contracts.datasets import Catalog

    labels = ["a", "b", "c"]
    catalog = Catalog.model_validate(
        {"datasets": {"ml": {"task": "multilabel", "input_kind": "vector", "vector_dim": 2,
                             "labels": labels}}}
    )  # fmt: skip
    base = {"dataset": "ml", "external_id": "x1", "vector": [1.0, 2.0]}
    plain = {"model_id": "mine", "labels": labels, "probabilities": [0.2, 0.3, 0.5]}
    refused = core.triage(ItemRaw.model_validate(base | {"prediction": plain}), catalog)
    assert refused is not None and "lacks label_probabilities" in (refused.reason or "")
    per_label = {"a": 0.9, "b": 0.8, "c": 0.1}
    raw = ItemRaw.model_validate(base | {"prediction": plain | {"label_probabilities": per_label}})
    assert core.triage(raw, catalog) is None
    item = core.ingested(raw, "b1")
    prediction = core.client_prediction(raw, item, catalog)
    assert prediction is not None and prediction.label_probabilities == per_label
