"""Hostile input to ingest, over HTTP to the running service: malformed, oversized, deeply
nested, wrongly typed, unicode edge cases, SQL-looking strings. Ingest never answers 5xx,
every rejection (of a request, or of one item in a batch) says why, and what it accepts flows
through every service to a routing decision."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitl_ingest.core import item_id_for

from tests.fuzz.conftest import Platform
from tests.fuzz.hostile import HOSTILE_STRINGS, hostile_text, json_values, nested
from tests.support import wait_until

pytestmark = pytest.mark.e2e

ITEM_FIELDS = ("external_id", "text", "vector", "metadata", "batch_id", "prediction", "event_id")
plausible_items = st.fixed_dictionaries(
    {"external_id": hostile_text, "text": hostile_text},
    optional={"metadata": st.dictionaries(hostile_text, hostile_text, max_size=3)},
)
odd_items = st.fixed_dictionaries({}, optional=dict.fromkeys(ITEM_FIELDS, json_values))
bodies = st.fixed_dictionaries(
    {
        "dataset": st.one_of(st.just("trec6"), hostile_text, json_values),
        "items": st.one_of(
            st.lists(st.one_of(plausible_items, odd_items, json_values), min_size=1, max_size=5),
            json_values,
        ),
    },
    optional={"batch_id": st.one_of(hostile_text, json_values)},
)


def post(platform: Platform, content: str | bytes, content_type: str) -> httpx.Response:
    return httpx.post(
        f"{platform.url('ingest')}/v1/items",
        content=content,
        headers={"content-type": content_type} | platform.stack.ingest_headers,
        timeout=60,
    )


def check_answer(response: httpx.Response, body: Any) -> None:
    assert response.status_code < 500, response.text
    answer = response.json()
    if response.status_code >= 400:
        assert answer["detail"], response.text
        return
    assert response.status_code == 200
    assert len(answer["items"]) == len(body["items"])
    for outcome in answer["items"]:
        if outcome["status"] == "rejected":
            assert outcome["reason"], outcome
        else:
            assert outcome["item_id"], outcome


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(bodies, json_values))
def test_any_json_body_gets_an_answer_that_explains_itself(platform: Platform, body: Any) -> None:
    # ensure_ascii: a lone surrogate travels as a JSON escape, as a hostile client would send it
    check_answer(post(platform, json.dumps(body), "application/json"), body)


@pytest.mark.parametrize(
    ("name", "content", "content_type", "status"),
    [
        ("deeply nested", nested(200_000), "application/json", 400),
        ("not JSON", "{nope", "application/json", 422),
        ("invalid UTF-8", b'{"dataset": "trec6", "items": [{"\xff": 1}]}', "application/json", 400),
        ("empty", "", "application/json", 422),
        ("form instead of JSON", "dataset=trec6", "application/x-www-form-urlencoded", 422),
        (
            "too many items",
            json.dumps({"dataset": "trec6", "items": [{"external_id": "x"}] * 1001}),
            "application/json",
            413,
        ),
        (
            "unknown dataset",
            json.dumps({"dataset": "'; DROP TABLE ingest.items; --", "items": [{}]}),
            "application/json",
            404,
        ),
        (
            "NUL in the batch id",
            json.dumps({"dataset": "trec6", "batch_id": "b\x00", "items": [{}]}),
            "application/json",
            422,
        ),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(
    platform: Platform, name: str, content: str | bytes, content_type: str, status: int
) -> None:
    response = post(platform, content, content_type)
    assert response.status_code == status, f"{name}: {response.text[:300]}"
    assert response.json()["detail"], name


def test_oversized_and_unstorable_items_are_rejected_one_by_one(platform: Platform) -> None:
    run = uuid.uuid4().hex[:8]
    items = [
        {"external_id": f"{run}-long", "text": "x" * 25_000},
        {"external_id": f"{run}-nul-text", "text": "What \x00 ?"},
        {"external_id": f"{run}-nul-\x00", "text": "What ?"},
        {"external_id": f"{run}-nul-meta", "text": "What ?", "metadata": {"k\x00": "v"}},
        {"external_id": f"{run}-surrogate-\ud800", "text": "What ?"},
        {"external_id": f"{run}-nested", "text": "What ?", "metadata": {"k": {"k": "v"}}},
        {"external_id": f"{run}-ok", "text": "Who wrote Hamlet ?"},
    ]
    response = post(platform, json.dumps({"dataset": "trec6", "items": items}), "application/json")
    answer = response.json()
    assert response.status_code == 200, answer
    statuses = [outcome["status"] for outcome in answer["items"]]
    assert statuses == ["rejected"] * 6 + ["accepted"]
    assert all(outcome["reason"] for outcome in answer["items"][:6])


def test_hostile_but_valid_items_flow_through_every_service(platform: Platform) -> None:
    """SQL-looking, right-to-left, zero-width, emoji, combining, very long: stored and routed
    like any item (parameterised queries, jsonb that holds any text but NUL)."""
    run = uuid.uuid4().hex[:8]
    usable = [s for s in HOSTILE_STRINGS if s.strip() and "\x00" not in s and len(s) <= 2000]
    usable = [s for s in usable if not any(0xD800 <= ord(c) <= 0xDFFF for c in s)]
    items = [
        {"external_id": f"{run}-{n}-{text[:40]}", "text": text, "metadata": {text[:50]: text[:80]}}
        for n, text in enumerate(usable)
    ]
    response = post(platform, json.dumps({"dataset": "trec6", "items": items}), "application/json")
    answer = response.json()
    assert response.status_code == 200 and answer["accepted"] == len(items), answer
    for item in items:
        item_id = item_id_for("trec6", str(item["external_id"]))
        wait_until(lambda item_id=item_id: platform.decided(item_id), timeout=120)
