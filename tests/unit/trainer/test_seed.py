"""A seed file's records as a training set (mitl_trainer.core.seed): each task's label cell
read and checked, content checked as ingest checks it, records that do not fit left out with
the line and why, the held-out share the trainer's own, the same item once."""

from __future__ import annotations

import json

import pytest
from mitl_contracts.datasets import Dataset
from mitl_contracts.ids import item_id_for
from mitl_trainer.core.seed import SeedRecord, label_of, seed_set
from mitl_trainer.core.split import in_holdout

QUESTIONS = Dataset(name="questions", labels=["HUM", "LOC", "NUM"], max_text_chars=40)
TOPICS = Dataset(name="topics", labels=["a", "b", "c"], task="multilabel")
GENES = Dataset(
    name="genes", labels=["x", "y"], task="multilabel", input_kind="vector", vector_dim=3
)
ENTITIES = Dataset(name="ents", labels=["person", "place"], task="spans")


def text(line: int, label: str | None, body: str = "Who wrote it ?") -> SeedRecord:
    return SeedRecord(line, f"id-{line}", body, None, label)


def test_single_label_records_that_fit_train_and_the_rest_say_why() -> None:
    records = [text(n, "HUM") for n in range(2, 40)] + [
        text(40, " LOC "),
        text(41, "COLOR"),
        text(42, None),
        text(43, "  "),
        text(44, "NUM", body="x" * 41),
        SeedRecord(45, "id-45", None, [0.1, 0.2], "NUM"),
    ]
    seed = seed_set(QUESTIONS, records, holdout_fraction=0.2, label_column="label")
    assert [line for line, _ in seed.left_out] == [41, 42, 43, 44, 45]
    reasons = dict(seed.left_out)
    assert "'COLOR' is not one of the dataset's: HUM, LOC, NUM" in reasons[41]
    assert reasons[42] == reasons[43] == "no label in column 'label'"
    assert "41 characters" in reasons[44] and "takes text items, not vector" in reasons[45]
    training = seed.training
    assert training.verified == 39 and len(training.train) + len(training.holdout) == 39
    # The trainer's split by item id: the same items it holds out once they are ingested.
    for example in training.holdout:
        assert in_holdout("questions", example.item_id, 0.2)
    ids = {e.item_id for e in training.train + training.holdout}
    assert item_id_for("questions", "id-40") in ids
    assert {e.label for e in training.train + training.holdout} == {"HUM", "LOC"}


def test_the_same_item_twice_counts_once_with_its_last_label() -> None:
    records = [text(2, "HUM"), SeedRecord(3, "id-2", "Who wrote it ?", None, "LOC")]
    seed = seed_set(QUESTIONS, records, holdout_fraction=0.2, label_column="label")
    [example] = seed.training.train + seed.training.holdout
    assert example.label == "LOC" and seed.training.verified == 1


def test_multi_label_cells_take_pipes_or_a_json_array_and_an_empty_array_means_none() -> None:
    assert label_of(TOPICS, "b|a", "t") == "a|b"
    assert label_of(TOPICS, '["c", "a"]', "t") == "a|c"
    assert label_of(TOPICS, "[]", "t") == ""
    with pytest.raises(ValueError, match="'z' not in the dataset"):
        label_of(TOPICS, "a|z", "t")
    with pytest.raises(ValueError, match="not a JSON array of labels"):
        label_of(TOPICS, "[a, b", "t")
    with pytest.raises(ValueError, match="holds strings only"):
        label_of(TOPICS, "[1, 2]", "t")


def test_vectors_are_stored_as_the_trainer_stores_them_and_checked_for_their_size() -> None:
    records = [
        SeedRecord(2, "g1", None, [0.5, 1.0, 2.0], "x|y"),
        SeedRecord(3, "g2", None, [0.5, 1.0], "x"),
        SeedRecord(4, "g3", "a text", None, "x"),
    ]
    seed = seed_set(GENES, records, holdout_fraction=0.5, label_column="labels")
    [example] = seed.training.train + seed.training.holdout
    assert json.loads(example.text) == [0.5, 1.0, 2.0] and example.label == "x|y"
    reasons = dict(seed.left_out)
    assert "vector has 2 values" in reasons[3] and "takes vector items, not text" in reasons[4]


def test_span_cells_are_checked_against_the_text_and_trimmed_at_their_edges() -> None:
    body = "Ada Lovelace lived in London"
    spans = [{"start": 0, "end": 13, "label": "person"}, {"start": 22, "end": 28, "label": "place"}]
    assert label_of(ENTITIES, json.dumps(spans), body) == "0:12:person|22:28:place"
    assert label_of(ENTITIES, "[]", body) == ""
    # A Label Studio annotation as the readers keep it (ls_annotation).
    assert label_of(ENTITIES, "22:28:place|0:12:person", body) == "0:12:person|22:28:place"
    with pytest.raises(ValueError, match="is not a span"):
        label_of(ENTITIES, "0-12-person", body)
    with pytest.raises(ValueError, match="runs outside the text"):
        label_of(ENTITIES, json.dumps([{"start": 20, "end": 40, "label": "place"}]), body)
    with pytest.raises(ValueError, match="'planet', not one of the dataset's labels"):
        label_of(ENTITIES, json.dumps([{"start": 0, "end": 3, "label": "planet"}]), body)
    with pytest.raises(ValueError, match="overlap"):
        overlapping = [{"start": 0, "end": 12, "label": "person"},
                       {"start": 4, "end": 12, "label": "place"}]  # fmt: skip
        label_of(ENTITIES, json.dumps(overlapping), body)
    with pytest.raises(ValueError, match=r"spans must be a JSON array of \{start, end, label\}"):
        label_of(ENTITIES, '[{"start": 0}]', body)
