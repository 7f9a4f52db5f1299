"""Span datasets: BIO tags become character spans over the space-joined tokens."""

from __future__ import annotations

import pytest
from mitl_contracts.spans import check_spans
from mitl_ml.span_data import WNUT16_LABELS, bio_spans, load_spans, parse_bio


def test_bio_tags_become_spans() -> None:
    data = parse_bio(
        ["Empire\tB-facility", "State\tI-facility", "is\tO", "in\tO", "NYC\tB-geo-loc", "\t",
         "Bob\tI-person", "Smith\tI-person", "and\tO", "Ann\tB-person", "Lee\tB-person"],
        "t", ("facility", "geo-loc", "person"),
    )  # fmt: skip
    assert data.texts == ["Empire State is in NYC", "Bob Smith and Ann Lee"]
    found = [[(text[s.start : s.end], s.label) for s in spans]
             for text, spans in zip(data.texts, data.spans, strict=True)]  # fmt: skip
    assert found == [
        [("Empire State", "facility"), ("NYC", "geo-loc")],
        [("Bob Smith", "person"), ("Ann", "person"), ("Lee", "person")],
    ]
    assert data.tokens[1][1] == (4, 9)


def test_bad_lines_are_named() -> None:
    with pytest.raises(ValueError, match="line 2: expected token<TAB>tag"):
        parse_bio(["a\tO", "no-tab-here"], "t", ("x",))
    with pytest.raises(ValueError, match="unknown BIO tag 'X-foo'"):
        bio_spans([(0, 1)], ["X-foo"])


def test_wnut16_ships_and_parses() -> None:
    data = load_spans("wnut16")
    assert len(data) == 2394 and data.labels == WNUT16_LABELS
    assert sum(len(s) for s in data.spans) == 1496
    for text, spans in zip(data.texts, data.spans, strict=True):
        check_spans(spans, text_length=len(text), labels=data.labels)
    with pytest.raises(ValueError, match="unknown span dataset"):
        load_spans("conll03")
