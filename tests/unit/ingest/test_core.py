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


def test_a_span_dataset_takes_client_spans_checked_like_a_span_models() -> None:
    from mitl_contracts.datasets import Catalog

    labels = ["PER", "LOC"]
    catalog = Catalog.model_validate(
        {"datasets": {"ner": {"task": "spans", "labels": labels},
                      "nested": {"task": "spans", "labels": labels, "allow_overlap": True},
                      "t": {"labels": labels}}}
    )  # fmt: skip
    text = "Ada lived in London"

    def triage(spans: list[tuple[int, int, str]], dataset: str = "ner", **more: object) -> str:
        prediction = {
            "model_id": "crm", "labels": labels[::-1], "spans_complete": 0.7,
            "spans": [{"start": s, "end": e, "label": lab, "confidence": 0.9}
                      for s, e, lab in spans],
        } | more  # fmt: skip
        item = {"dataset": dataset, "external_id": "x1", "text": text, "prediction": prediction}
        outcome = core.triage(ItemRaw.model_validate(item), catalog)
        return "" if outcome is None else outcome.reason or "?"

    assert triage([(0, 3, "PER"), (13, 19, "LOC")]) == ""
    assert triage([]) == ""  # "no entity" is a prediction too
    assert "runs outside the text (19 characters)" in triage([(13, 25, "LOC")])
    assert "overlap; the dataset does not allow" in triage([(0, 3, "PER"), (0, 9, "LOC")])
    assert triage([(0, 3, "PER"), (0, 9, "LOC")], "nested") == ""
    assert "dataset 't' is single; the client prediction has spans" in triage([], "t")
    guess = {"model_id": "crm", "labels": labels, "probabilities": [0.5, 0.5]}
    plain = {"dataset": "ner", "external_id": "x1", "text": text, "prediction": guess}
    refused = core.triage(ItemRaw.model_validate(plain), catalog)
    assert refused is not None and "labels spans; the client prediction has no 'spans'" in (
        refused.reason or ""
    )

    raw = ItemRaw.model_validate(
        {"dataset": "ner", "external_id": "x1", "text": text, "prediction": {
            "model_id": "crm", "labels": labels, "spans_complete": 0.7, "spans": [
                {"start": 13, "end": 19, "label": "LOC", "confidence": 0.8},
                {"start": 0, "end": 3, "label": "PER", "confidence": 0.6}]}}
    )  # fmt: skip
    prediction = core.client_prediction(raw, core.ingested(raw, "b1"), catalog)
    assert prediction is not None and prediction.task == "spans"
    assert prediction.source == "client" and prediction.model_version == "client:crm"
    assert [s.key for s in prediction.spans or []] == ["0:3:PER", "13:19:LOC"]
    assert prediction.spans_complete == 0.7
    assert prediction.labels == labels
    assert prediction.probabilities == pytest.approx([0.6 / 1.4, 0.8 / 1.4])
    catalog.get("ner").check_prediction(prediction)  # what the router checks, it passes


def test_client_spans_leave_out_whitespace_at_their_edges() -> None:
    from mitl_contracts.datasets import Catalog

    ner = {"task": "spans", "labels": ["PER", "LOC"]}
    catalog = Catalog.model_validate({"datasets": {"ner": ner}})
    text = "Ada  lived in London"

    def item(start: int, end: int) -> ItemRaw:
        prediction = {
            "model_id": "crm",
            "labels": ["PER", "LOC"],
            "spans_complete": 0.7,
            "spans": [{"start": start, "end": end, "label": "PER", "confidence": 0.9}],
        }
        return ItemRaw.model_validate(
            {"dataset": "ner", "external_id": "x1", "text": text, "prediction": prediction}
        )  # fmt: skip

    padded = item(0, 5)  # "Ada  " with both spaces after it
    assert core.triage(padded, catalog) is None
    prediction = core.client_prediction(padded, core.ingested(padded, "b1"), catalog)
    assert prediction is not None and [s.key for s in prediction.spans or []] == ["0:3:PER"]
    refused = core.triage(item(3, 5), catalog)
    assert refused is not None
    assert "client prediction: span [3, 5) covers only whitespace" in (refused.reason or "")
