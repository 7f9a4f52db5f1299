"""`mitl run --annotators`: the simulated people answer from the streamed pool's true labels
(keyed by the item ids ingest gives), confirm a right suggestion and correct a wrong one, give
the true label on a blind task, and hand back a task they cannot know; the status line reads
the served model and the accepted share since it changed. The review API here is a stand-in
transport: the API itself is tested against Postgres elsewhere."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from mitl_cli.commands.run import decisions_line, served_model
from mitl_cli.feed import pool_examples
from mitl_cli.oracle import Person, Tally, answer, pool_truth
from mitl_contracts.ids import item_id_for


def test_the_truth_is_keyed_by_the_item_ids_ingest_gives() -> None:
    truth = pool_truth("trec6")
    (first, label), *_ = pool_examples("trec6", limit=1)
    assert truth[item_id_for("trec6", str(first["external_id"]))] == label
    assert len(truth) > 3000 and set(truth.values()) == {
        "ABBR",
        "DESC",
        "ENTY",
        "HUM",
        "LOC",
        "NUM",
    }


def task(suggested: str | None, item_id: str = "i1") -> dict[str, Any]:
    suggestion = None if suggested is None else {"label": suggested}
    return {"task_id": "t1", "item_id": item_id, "revision": 3, "suggestion": suggestion}


def test_a_right_suggestion_is_confirmed_and_anything_else_gets_the_true_label() -> None:
    assert answer(task("HUM"), "HUM", 1.5) == {
        "revision": 3,
        "time_spent_ms": 1500,
        "action": "confirm",
    }
    assert answer(task("LOC"), "HUM", 1.0)["label"] == "HUM"
    assert answer(task("LOC"), "HUM", 1.0)["action"] == "correct"
    assert answer(task(None), "NUM", 1.0) == {
        "revision": 3,
        "time_spent_ms": 1000,
        "action": "correct",
        "label": "NUM",
    }


def test_a_person_labels_what_it_knows_and_hands_back_what_it_does_not() -> None:
    claims = [task("LOC", "known"), task("HUM", "unknown")]
    submitted: list[tuple[str, dict[str, Any]]] = []

    def review_api(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/claim"):
            if not claims:
                return httpx.Response(204)
            assert request.url.path == "/v1/queues/trec6/annotator/claim"
            assert request.headers["authorization"] == "Bearer tok"
            return httpx.Response(200, json=claims.pop(0))
        submitted.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={})

    tally = Tally()
    person = Person("http://review", "trec6", "annotator", "tok", {"known": "HUM"}, 0.0, tally)
    client = httpx.Client(
        base_url="http://review",
        transport=httpx.MockTransport(review_api),
        headers={"Authorization": "Bearer tok"},
    )
    stop = threading.Event()
    for _ in range(3):
        person.one_task(client, stop)
    assert submitted == [
        ("/v1/tasks/t1/submit", {"revision": 3, "time_spent_ms": 0, "action": "correct",
                                 "label": "HUM"}),
        ("/v1/tasks/t1/submit", {"action": "skip"}),
    ]  # fmt: skip
    assert (tally.labeled, tally.confirmed, tally.skipped) == (1, 0, 1)


def test_the_status_line_reads_the_served_model_and_the_share_since_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics = (
        "# TYPE mitl_inference_model_info gauge\n"
        'mitl_inference_model_info{dataset="digits",model_version="d-1"} 1.0\n'
        'mitl_inference_model_info{dataset="trec6",model_version="trec6-old"} 0.0\n'
        'mitl_inference_model_info{dataset="trec6",model_version="trec6-new"} 1.0\n'
    )
    monkeypatch.setattr(httpx, "get", lambda url, **kw: httpx.Response(200, text=metrics))
    assert served_model("http://inference", "trec6") == "trec6-new"
    assert served_model("http://inference", "yeast") is None
    now = {"accept": 150.0, "review": 100.0, "escalate": 10.0}
    since = {"accept": 50.0, "review": 60.0, "escalate": 10.0}
    assert decisions_line(now, since) == "accept 100, escalate 0, review 40 (accepted 71%)"
    assert decisions_line({}, {}) == ""
