"""Hostile input to the review API with real tokens: path parameters, submissions against real
claimed tasks, gold uploads, guidelines and user names. Never 5xx; every rejection says why.
(Submissions need tasks: items are streamed through ingest first, and the router queues them.)"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import Platform
from tests.fuzz.hostile import HOSTILE_STRINGS, hostile_text, json_values, segment
from tests.support import wait_until

pytestmark = pytest.mark.e2e

SUBMIT_FIELDS = ("action", "label", "comment", "time_spent_ms", "revision")
submissions = st.one_of(
    st.fixed_dictionaries(
        {"action": st.sampled_from(["confirm", "correct", "escalate", "skip"])},
        optional={
            "label": st.one_of(st.sampled_from(["HUM", "LOC"]), hostile_text),
            "comment": hostile_text,
            "time_spent_ms": st.one_of(st.integers(), json_values),
            "revision": st.one_of(st.integers(), json_values),
        },
    ),
    st.fixed_dictionaries({}, optional=dict.fromkeys((*SUBMIT_FIELDS, "extra"), json_values)),
    json_values,
)


def call(
    platform: Platform, method: str, path: str, role: str | None, body: Any = None
) -> httpx.Response:
    headers = {"content-type": "application/json", **(platform.auth(role) if role else {})}
    response = httpx.request(
        method,
        f"{platform.url('review-api')}{path}",
        headers=headers,
        content=None if body is None else json.dumps(body),
        timeout=30,
    )
    assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        assert response.json()["detail"], response.text
    return response


@pytest.fixture(scope="module")
def queued(platform: Platform) -> None:
    """Enough items in the annotator queue for every submission example to find a task."""
    run = uuid.uuid4().hex[:8]
    items = [{"external_id": f"{run}-{n}", "text": f"What is thing {n} ?"} for n in range(150)]
    httpx.post(
        f"{platform.url('ingest')}/v1/items",
        json={"dataset": "trec6", "items": items},
        headers=platform.stack.ingest_headers,
        timeout=60,
    ).raise_for_status()

    def depth() -> bool:
        queues = call(platform, "GET", "/v1/queues", "annotator").json()["queues"]
        return any(q["queue"] == "annotator" and q["depth"] >= 50 for q in queues)

    wait_until(depth, timeout=120)


@pytest.mark.parametrize("value", [s for s in HOSTILE_STRINGS if s])
@pytest.mark.parametrize("role", ["annotator", "expert", "admin"])
def test_hostile_path_parameters(platform: Platform, role: str, value: str) -> None:
    part = segment(value)
    call(platform, "POST", f"/v1/queues/{part}/annotator/claim", role)
    call(platform, "POST", f"/v1/queues/trec6/{part}/claim", role)
    call(platform, "POST", f"/v1/tasks/{part}/submit", role, {"action": "skip"})
    call(platform, "GET", f"/v1/gold/{part}", role)
    call(platform, "POST", f"/v1/gold/{part}", role, {"items": []})
    call(platform, "GET", f"/v1/annotators?dataset={part}", role)
    call(platform, "GET", f"/v1/datasets/{part}/guidelines", role)
    call(platform, "GET", f"/v1/datasets/{part}/guidelines/versions", role)
    call(platform, "GET", f"/v1/datasets/trec6/guidelines/versions/{part}", role)
    call(platform, "PUT", f"/v1/datasets/{part}/guidelines", role, {"markdown": "# x"})


@settings(max_examples=75, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=submissions)
def test_any_submission_on_a_claimed_task_gets_an_answer_that_explains_itself(
    platform: Platform, queued: None, body: Any
) -> None:
    claim = call(platform, "POST", "/v1/queues/trec6/annotator/claim", "annotator")
    assert claim.status_code == 200, "the queue ran dry: queue more items in `queued`"
    call(platform, "POST", f"/v1/tasks/{claim.json()['task_id']}/submit", "annotator", body)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    items=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {"external_id": hostile_text, "text": hostile_text, "label": hostile_text}
            ),
            json_values,
        ),
        max_size=4,
    )
)
def test_any_gold_upload_gets_an_answer_that_explains_itself(
    platform: Platform, items: list[Any]
) -> None:
    call(platform, "POST", "/v1/gold/trec6", "admin", {"items": items})


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "markdown": hostile_text,
                "labels": st.dictionaries(
                    st.one_of(st.sampled_from(["HUM", "LOC"]), hostile_text),
                    st.one_of(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "description": hostile_text,
                                "examples": st.lists(hostile_text, max_size=3),
                            },
                        ),
                        json_values,
                    ),
                    max_size=3,
                ),
            },
        ),
        json_values,
    )
)
def test_any_guidelines_put_gets_an_answer_that_explains_itself(
    platform: Platform, body: Any
) -> None:
    call(platform, "PUT", "/v1/datasets/trec6/guidelines", "admin", body)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=hostile_text, role=st.one_of(st.sampled_from(["annotator", "expert"]), hostile_text))
def test_any_new_user_request_gets_an_answer_that_explains_itself(
    platform: Platform, name: str, role: str
) -> None:
    call(platform, "POST", "/v1/users", "admin", {"name": name, "role": role})
