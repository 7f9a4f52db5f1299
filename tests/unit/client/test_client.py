"""The Python client against a stand-in transport: what it sends, how it reads answers, its
retries (Retry-After on 429/503, transport errors), splitting on 413, bounded concurrency and
the importer's rejects file. The real services: tests/integration/test_client.py."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from mitl_client import (
    ApiError,
    AsyncMitlClient,
    Endpoints,
    Item,
    MitlClient,
    RetriesExhausted,
    RetryPolicy,
)
from mitl_client.importer import import_file

FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)
ENDPOINTS = Endpoints(
    ingest="http://ingest",
    inference="http://inference",
    review="http://review",
    audit="http://audit",
)


class FakeIngest:
    """POST /v1/items as ingest answers it: accepted once per external id, then duplicate;
    text 'bad' rejected. `fail` statuses are answered first, in order."""

    def __init__(self, fail: list[int] | None = None, max_items: int = 1000) -> None:
        self.seen: set[str] = set()
        self.fail = list(fail or [])
        self.max_items = max_items
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if self.fail:
            status = self.fail.pop(0)
            return httpx.Response(status, headers={"retry-after": "0"}, json={"detail": "busy"})
        if len(body["items"]) > self.max_items:
            return httpx.Response(413, json={"detail": "too many"})
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.01)
        with self.lock:
            self.in_flight -= 1
        outcomes = []
        for index, item in enumerate(body["items"]):
            if item.get("text") == "bad":
                outcomes.append(
                    {
                        "index": index,
                        "external_id": item["external_id"],
                        "status": "rejected",
                        "reason": "text: bad",
                    }
                )
                continue
            status = "duplicate" if item["external_id"] in self.seen else "accepted"
            self.seen.add(item["external_id"])
            outcomes.append({"index": index, "external_id": item["external_id"], "status": status})
        return httpx.Response(
            200,
            json={
                "dataset": body["dataset"],
                "batch_id": body.get("batch_id", "b"),
                "accepted": sum(o["status"] == "accepted" for o in outcomes),
                "duplicates": sum(o["status"] == "duplicate" for o in outcomes),
                "rejected": sum(o["status"] == "rejected" for o in outcomes),
                "items": outcomes,
            },
        )


def items(n: int, start: int = 0) -> list[Item]:
    return [Item(external_id=f"q{i}", text=f"question {i}") for i in range(start, start + n)]


def client(handler: Any, **options: Any) -> MitlClient:
    return MitlClient(ENDPOINTS, transport=httpx.MockTransport(handler), retry=FAST, **options)


def test_ingest_many_batches_bounded_and_idempotent() -> None:
    fake = FakeIngest()
    with client(fake) as mitl:
        first = mitl.ingest_many("trec6", items(25), batch_size=4, concurrency=2, batch_id="b1")
        again = mitl.ingest_many("trec6", items(30), batch_size=4, concurrency=2)
    assert (first.accepted, first.duplicates, first.requests) == (25, 0, 7)
    assert (again.accepted, again.duplicates) == (5, 25)
    assert fake.most_in_flight <= 2
    assert fake.requests[0]["batch_id"] == "b1"
    assert fake.requests[0]["items"][0] == {
        "external_id": "q0",
        "text": "question 0",
        "metadata": {},
    }


def test_429_and_503_are_retried_and_transport_errors_too() -> None:
    fake = FakeIngest(fail=[429, 503])
    with client(fake) as mitl:
        summary = mitl.ingest_many("trec6", items(3))
    assert summary.accepted == 3
    assert len(fake.requests) == 3

    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        return fake(request)

    with client(flaky) as mitl:
        assert mitl.ingest("trec6", items(1, start=50)).accepted == 1


def test_retries_run_out_and_errors_name_the_detail() -> None:
    with client(FakeIngest(fail=[503] * 10)) as mitl, pytest.raises(RetriesExhausted, match="503"):
        mitl.ingest("trec6", items(1))

    def unknown(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "unknown dataset 'x'"})

    with client(unknown) as mitl, pytest.raises(ApiError) as raised:
        mitl.ingest("x", items(1))
    assert (raised.value.status, raised.value.detail) == (404, "unknown dataset 'x'")


def test_a_batch_too_large_is_split() -> None:
    fake = FakeIngest(max_items=3)
    with client(fake) as mitl:
        summary = mitl.ingest_many("trec6", items(10), batch_size=10)
    assert summary.accepted == 10
    assert max(len(r["items"]) for r in fake.requests if len(r["items"]) <= 3) <= 3


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(max_delay=5)
    assert policy.delay(1, "2") == 2
    assert policy.delay(1, "120") == 5
    assert 0 < policy.delay(3, None) <= 0.8


def test_review_calls_send_the_token_and_the_revision() -> None:
    seen: list[httpx.Request] = []
    task = {
        "task_id": "t1",
        "revision": 3,
        "dataset": "trec6",
        "item_id": "i1",
        "queue": "annotator",
        "content": {"text": "Who ?", "metadata": {}},
        "labels": ["A", "B"],
        "suggestion": {"label": "A", "confidence": 0.6, "probabilities": {"A": 0.6, "B": 0.4}},
        "priority": 0.5,
        "reason": "r",
        "lease_expires_at": None,
        "new_field": 1,
    }

    def review(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/claim"):
            return httpx.Response(200, json=task) if len(seen) == 1 else httpx.Response(204)
        body = json.loads(request.content)
        return httpx.Response(
            200,
            json={
                "task_id": "t1",
                "status": "done",
                "action": body["action"],
                "label": body.get("label"),
            },
        )

    with client(review, token="secret") as mitl:
        claimed = mitl.claim("trec6")
        assert claimed is not None and claimed.suggestion is not None
        assert mitl.submit(claimed, "B").label == "B"
        assert mitl.claim("trec6") is None
        mitl.escalate("t1", "not sure")
        mitl.skip("t1")
    assert seen[0].url == "http://review/v1/queues/trec6/annotator/claim"
    assert seen[0].headers["authorization"] == "Bearer secret"
    assert json.loads(seen[1].content) == {"action": "correct", "label": "B", "revision": 3}
    assert json.loads(seen[3].content) == {"action": "escalate", "comment": "not sure"}
    assert json.loads(seen[4].content) == {"action": "skip"}


def test_review_calls_need_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MITL_TOKEN", raising=False)
    with client(FakeIngest()) as mitl, pytest.raises(ValueError, match="needs a token"):
        mitl.claim("trec6")


def test_export_writes_the_file_whole(tmp_path: Path) -> None:
    def audit(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/export/trec6":
            return httpx.Response(200, content=b"a,b\n1,2\n", headers={"x-mitl-export-items": "1"})
        return httpx.Response(404, json={"detail": "unknown dataset"})

    with client(audit) as mitl:
        assert mitl.export("trec6", tmp_path / "out.csv", format="csv") == 1
        with pytest.raises(ApiError, match="404"):
            mitl.export("nope", tmp_path / "no.csv", format="csv")
    assert (tmp_path / "out.csv").read_bytes() == b"a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


async def test_the_async_client_batches_with_bounded_concurrency() -> None:
    fake = FakeIngest(fail=[429])

    async def handler(request: httpx.Request) -> httpx.Response:
        return fake(request)

    async with AsyncMitlClient(
        ENDPOINTS, transport=httpx.MockTransport(handler), retry=FAST
    ) as mitl:
        summary = await mitl.ingest_many("trec6", items(9), batch_size=2, concurrency=3)
        again = await mitl.ingest_many("trec6", items(9), batch_size=5)
    assert (summary.accepted, again.duplicates) == (9, 9)


def test_import_writes_rejects_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,text\n1,one\n2,bad\n3,\n4,four\n")
    fake = FakeIngest()
    with client(fake) as mitl:
        first = import_file(mitl, path, "trec6", batch_size=2)
        again = import_file(mitl, path, "trec6", batch_size=2)
    assert (first.records, first.accepted, first.duplicates, first.rejected) == (4, 2, 0, 2)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 2)
    assert first.rejects_path == tmp_path / "items.csv.rejects.jsonl"
    rejects = [json.loads(line) for line in first.rejects_path.read_text().splitlines()]
    assert {(r["line"], r["external_id"]) for r in rejects} == {(3, "2"), (4, None)}
    assert any(r["reason"] == "line 3: ingest: text: bad" for r in rejects)
    assert fake.requests[0]["batch_id"] == "import-items.csv"


def test_export_retries_a_busy_audit_and_leaves_no_partial_file(tmp_path: Path) -> None:
    answers = iter([503, 200])

    def audit(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 503:
            return httpx.Response(503, headers={"retry-after": "0"}, json={"detail": "busy"})
        return httpx.Response(200, content=b"[]\n", headers={"x-mitl-export-items": "0"})

    with client(audit) as mitl:
        assert mitl.export("trec6", tmp_path / "t.json", format="label-studio") == 0
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]

    with client(lambda r: httpx.Response(503)) as mitl, pytest.raises(RetriesExhausted):
        mitl.export("trec6", tmp_path / "u.json")
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_the_registry_and_served_models_are_read_from_inference() -> None:
    seen: list[httpx.Request] = []

    def inference(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/registry":
            return httpx.Response(200, json=[{"model_version": "m1", "status": "champion"}])
        return httpx.Response(200, json={"trec6": {"model_version": "m1"}})

    with client(inference) as mitl:
        assert mitl.registry("trec6")[0]["status"] == "champion"
        assert mitl.models()["trec6"]["model_version"] == "m1"
    assert str(seen[0].url) == "http://inference/v1/registry?dataset=trec6"


async def test_the_async_client_stops_at_the_first_refused_batch() -> None:
    sent: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(404, json={"detail": "unknown dataset 'x'"})

    async with AsyncMitlClient(ENDPOINTS, transport=httpx.MockTransport(handler)) as mitl:
        with pytest.raises(ApiError, match="unknown dataset"):
            await mitl.ingest_many("x", items(100), batch_size=1, concurrency=2)
    assert len(sent) < 10


def test_ingest_sends_the_api_key_and_audit_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The ingest key goes with ingest calls only, the token with audit's reports and export;
    without them nothing is sent and the service's 401 comes back with its reason."""
    seen: list[httpx.Request] = []

    def anywhere(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "ingest":
            return FakeIngest()(request)
        if "authorization" not in request.headers:
            return httpx.Response(401, json={"detail": "missing credentials: send the header"})
        return httpx.Response(200, json={"dataset": "trec6", "overrides": []})

    with client(anywhere, token="auditor-t", api_key="mitlk_key") as mitl:
        mitl.ingest_many("trec6", [Item(external_id="a", text="x")])
        mitl.overrides("trec6")
        mitl.export("trec6", tmp_path / "out.jsonl")
    assert seen[0].headers["authorization"] == "Bearer mitlk_key"
    assert seen[1].headers["authorization"] == "Bearer auditor-t"
    assert seen[2].headers["authorization"] == "Bearer auditor-t"
    del seen[2]
    monkeypatch.delenv("MITL_TOKEN", raising=False)
    monkeypatch.setenv("MITL_API_KEY", "mitlk_from_env")
    with client(anywhere) as mitl:
        mitl.ingest_many("trec6", [Item(external_id="b", text="x")])
        with pytest.raises(ApiError, match=r"401.*missing credentials"):
            mitl.overrides("trec6")
    assert seen[2].headers["authorization"] == "Bearer mitlk_from_env"
    assert "authorization" not in seen[3].headers


def test_a_span_task_is_submitted_as_its_full_span_set() -> None:
    from mitl_contracts.spans import Span

    bodies: list[dict[str, Any]] = []

    def review(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        label = "|".join(f"{s['start']}:{s['end']}:{s['label']}" for s in body["spans"])
        return httpx.Response(
            200, json={"task_id": "t9", "status": "done", "action": "correct", "label": label}
        )

    spans = [Span(start=0, end=3, label="PER", confidence=0.9), Span(start=7, end=12, label="LOC")]
    with client(review, token="secret") as mitl:
        result = mitl.submit_spans("t9", spans, time_spent_ms=800)
    assert result.label == "0:3:PER|7:12:LOC"
    assert bodies == [
        {
            "action": "correct",
            "spans": [
                {"start": 0, "end": 3, "label": "PER"},
                {"start": 7, "end": 12, "label": "LOC"},
            ],
            "time_spent_ms": 800,
        }
    ]
