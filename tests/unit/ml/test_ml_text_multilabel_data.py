"""The multi-label text dataset derived from WNUT-16: each tweet's label set is the set of
entity types its gold spans mention (possibly empty)."""

from __future__ import annotations

import numpy as np
import pytest
from mitl_contracts.spans import Span
from mitl_ml.span_data import load_wnut16
from mitl_ml.text_multilabel_data import (
    TextMultiLabelData,
    entity_type_matrix,
    load_text_multilabel,
    load_wnut16_types,
)


def test_wnut16_types_labels_each_tweet_with_its_entity_types() -> None:
    data = load_wnut16_types()
    spans = load_wnut16()
    assert data.name == "wnut16-types" and len(data) == 2394 and len(data.labels) == 10
    assert data.texts == spans.texts
    assert int(data.y.any(axis=1).sum()) == 918  # the rest mention no entity
    assert dict(zip(data.labels, data.y.sum(axis=0).tolist(), strict=True)) == {
        "company": 151, "facility": 94, "geo-loc": 213, "movie": 25, "musicartist": 43,
        "other": 193, "person": 345, "product": 73, "sportsteam": 42, "tvshow": 33,
    }  # fmt: skip
    for found, label_set in zip(spans.spans, data.label_sets(), strict=True):
        assert label_set == sorted({s.label for s in found}, key=data.labels.index)
    assert load_text_multilabel("wnut16-types").labels == data.labels


def test_entity_type_matrix_and_its_faults() -> None:
    spans = [
        [Span(start=0, end=3, label="b"), Span(start=4, end=6, label="b")],
        [],
        [Span(start=0, end=1, label="a")],
    ]
    y = entity_type_matrix(spans, ["a", "b"])
    assert y.tolist() == [[False, True], [False, False], [True, False]]
    with pytest.raises(ValueError, match="span label 'z' is not in"):
        entity_type_matrix([[Span(start=0, end=1, label="z")]], ["a", "b"])
    with pytest.raises(ValueError, match="unknown multi-label text dataset 'nope'"):
        load_text_multilabel("nope")
    with pytest.raises(ValueError, match="label matrix of shape"):
        TextMultiLabelData("x", ("a", "b"), ["t"], np.zeros((2, 2), dtype=bool))
