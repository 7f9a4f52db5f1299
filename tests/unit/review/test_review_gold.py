"""Gold items: checking an upload, their ids, the blind task a person gets, the draw."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitl_review.core.errors import Unprocessable
from mitl_review.core.gold import (
    GOLD_PRIORITY,
    GOLD_REASON,
    GoldUpload,
    check_upload,
    gold_id_for,
    gold_task,
    gold_task_id,
    serve_gold,
)
from mitl_review.schemas import TaskView
from pydantic import ValidationError

from tests.unit.review.factories import CATALOG, LABELS, NOW

TREC6 = CATALOG.get("trec6")


def upload(*items: dict[str, Any]) -> GoldUpload:
    return GoldUpload.model_validate({"items": list(items)})


def test_an_upload_becomes_gold_items_with_stable_ids() -> None:
    items = check_upload(
        TREC6,
        upload(
            {"external_id": "g1", "text": "Who wrote Hamlet ?", "label": "HUM"},
            {"external_id": "g2", "text": "Where ?", "label": "LOC", "metadata": {"a": "b"}},
        ),
    )
    assert [(i.external_id, i.label) for i in items] == [("g1", "HUM"), ("g2", "LOC")]
    assert items[0].gold_id == gold_id_for("trec6", "g1") != gold_id_for("other", "g1")
    assert len(items[0].gold_id) == 32 and items[1].content.metadata == {"a": "b"}


def test_an_upload_with_bad_items_names_each_of_them() -> None:
    bad = upload(
        {"external_id": "g1", "text": "Who wrote Hamlet ?", "label": "PERSON"},
        {"external_id": "g2", "vector": [0.1, 0.2], "label": "HUM"},
        {"external_id": "g1", "text": "Again ?", "label": "HUM"},
        {"external_id": "ok", "text": "Fine ?", "label": "HUM"},
    )
    with pytest.raises(Unprocessable) as error:
        check_upload(TREC6, bad)
    message = error.value.message
    assert "item 0 ('g1'): label 'PERSON' is not in the label set" in message
    assert str(list(LABELS)) in message
    assert "item 1 ('g2'): dataset 'trec6' takes text items, not vector" in message
    assert "item 2 ('g1'): same external_id as item 0" in message
    assert "item 3" not in message


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{"external_id": "g", "label": "HUM"}]},
        {"items": [{"external_id": "g", "text": "x", "vector": [1.0], "label": "HUM"}]},
        {"items": [{"external_id": "g", "text": "x", "label": "HUM", "extra": 1}]},
        {"items": [{"external_id": "", "text": "x", "label": "HUM"}]},
        {},
    ],
)
def test_malformed_uploads_are_rejected(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GoldUpload.model_validate(body)


def test_a_gold_task_is_blind_and_looks_like_a_spot_check() -> None:
    (item,) = check_upload(TREC6, upload({"external_id": "g1", "text": "Who ?", "label": "HUM"}))
    task = gold_task(item, "ann", "annotator", LABELS, NOW)
    assert task.task_id == gold_task_id(item.gold_id, "ann") != gold_task_id(item.gold_id, "bob")
    assert (task.kind, task.gold_id, task.assignee) == ("gold", item.gold_id, "ann")
    assert task.hide_suggestion and task.review_event_id is None
    assert (task.reason, task.priority) == (GOLD_REASON, GOLD_PRIORITY)
    assert task.labels == LABELS and sum(task.probabilities) == pytest.approx(1.0)
    view = TaskView.of(task)
    assert view.suggestion is None and view.item_id == item.gold_id
    # Nothing in what the person sees names the task as gold or gives the answer away.
    assert "gold" not in view.model_dump_json().lower()
    assert "HUM" not in view.model_dump_json(exclude={"labels"})


@given(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_gold_is_served_for_a_share_rate_of_draws(rate: float, draw: float) -> None:
    assert serve_gold(rate, draw) == (draw < rate)
    assert not serve_gold(0.0, draw) and serve_gold(1.0, draw)
