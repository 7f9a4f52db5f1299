"""Tokens stay secret: the fuzzers' platform (every service its own process, logging at DEBUG)
is worked by people with real tokens, through the happy paths and the unhappy ones (unknown and
malformed tokens, tokens where a name or an id belongs, an admin creating a user over HTTP),
with bad events on the topics so that dead-letter topics fill. Afterwards no service log and
no dead-letter record contains any token, nor a recognisable piece of one: neither these
tokens, nor the fuzzers' (their requests carried them too)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from mitl_cli.feed import pool_items
from mitl_cli.stack import LocalStack
from mitl_contracts import topics
from mitl_review.cli import create_user

from tests.fuzz.conftest import Platform
from tests.support import TopicReader, publish_raw, wait_until

pytestmark = pytest.mark.e2e
PIECE = 12  # a run of this many token characters is as good as the token to a reader


def exercise(stack: LocalStack, tokens: dict[str, str]) -> list[str]:
    """Use the platform the way people and mistakes do; return every token that was in use."""
    review = httpx.Client(base_url=stack.url("review-api"), timeout=30)
    bearer = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
    new_user = {"name": f"made-{uuid.uuid4().hex[:6]}", "role": "annotator"}
    created = review.post("/v1/users", json=new_user, headers=bearer["admin"]).json()["token"]
    bearer["made"] = {"Authorization": f"Bearer {created}"}
    items = list(pool_items("trec6", limit=40))
    httpx.post(
        f"{stack.url('ingest')}/v1/items",
        json={"dataset": "trec6", "items": items},
        headers=stack.ingest_headers,
        timeout=30,
    ).raise_for_status()

    def claimed() -> httpx.Response | None:
        response = review.post("/v1/queues/trec6/annotator/claim", headers=bearer["annotator"])
        return response if response.status_code == 200 else None

    task = wait_until(claimed, timeout=120).json()
    escalation = {"action": "escalate", "comment": "please check"}
    answer = review.post(
        f"/v1/tasks/{task['task_id']}/submit", json=escalation, headers=bearer["annotator"]
    )
    assert answer.status_code == 200, answer.text
    expert = review.post("/v1/queues/trec6/expert/claim", headers=bearer["expert"]).json()
    resolution = {"action": "correct", "label": expert["labels"][0]}
    answer = review.post(
        f"/v1/tasks/{expert['task_id']}/submit", json=resolution, headers=bearer["expert"]
    )
    assert answer.status_code == 200, answer.text
    for role, token in [*tokens.items(), ("made", created)]:
        review.get("/v1/me", headers=bearer[role])
        review.get("/v1/me", headers={"Authorization": f"Bearer {token}x"})  # unknown
        review.get("/v1/me", headers={"Authorization": f"Token {token}"})  # malformed
        review.get("/v1/me", params={"token": token})
        review.post(f"/v1/queues/{token}/annotator/claim", headers=bearer[role])
        review.post(f"/v1/tasks/{token}/submit", json={"action": "skip"}, headers=bearer[role])
        review.post("/v1/users", json={"name": token, "role": token}, headers=bearer[role])
        httpx.get(f"{stack.url('audit')}/v1/reports/{token}", timeout=30)
        httpx.post(f"{stack.url('ingest')}/v1/items", json={"dataset": token, "items": [{}]})
    # The platform's own secrets: the ingest key, the admin and auditor tokens, right and
    # wrong, on every guarded surface.
    secrets = [stack.ingest_key, stack.admin_token, stack.auditor_token]
    for secret in secrets:
        for presented in (secret, secret + "x", secret[:-1]):
            auth = {"Authorization": f"Bearer {presented}"}
            body = {"dataset": "trec6", "items": [{"external_id": presented, "text": "a"}]}
            httpx.post(f"{stack.url('ingest')}/v1/items", json=body, headers=auth, timeout=30)
            httpx.get(f"{stack.url('audit')}/v1/export/trec6", headers=auth, timeout=30)
            httpx.get(f"{stack.url('audit')}/v1/reports/{presented}", headers=auth, timeout=30)
            httpx.post(f"{stack.url('trainer')}/v1/retrain/trec6", headers=auth, timeout=30)
    return [*tokens.values(), created, *secrets]


def test_no_token_is_logged_or_dead_lettered(platform: Platform) -> None:
    stack = platform.stack
    tag = uuid.uuid4().hex[:6]
    tokens = {
        role: asyncio.run(create_user(stack.database_url, f"secret-{role}-{tag}", role))
        for role in ("annotator", "expert", "admin")
    }
    used = [*exercise(stack, tokens), *platform.tokens.values()]
    assert stack.broker is not None
    bad = [b"{nope", json.dumps({"dataset": "trec6", "annotator": "x"}).encode()]
    for topic in (topics.LABELS, topics.REVIEW_REQUESTED, topics.ITEMS_RAW):
        asyncio.run(publish_raw(stack.broker.bootstrap, topic, bad))

    async def dead_letters() -> list[bytes]:
        out: list[bytes] = []
        for topic in topics.ALL:
            async with TopicReader(stack.broker.bootstrap, topics.dlq(topic)) as reader:
                if topic in (topics.LABELS, topics.REVIEW_REQUESTED, topics.ITEMS_RAW):
                    await reader.wait_for(lambda records: len(records) >= 2, timeout=60)
                else:
                    await reader.wait_for(lambda records: True, timeout=1)
                for record in reader.records:
                    out.append(record.value or b"")
                    out.extend(value for _, value in record.headers or ())
        return out

    records = asyncio.run(dead_letters())
    assert records, "the dead-letter topics should hold the bad events"
    logs = {path.name: path.read_text(errors="replace") for path in stack.workdir.glob("*.log")}
    assert {"review-api.log", "ingest.log", "audit.log"} <= set(logs)
    assert sum(len(text) for text in logs.values()) > 10_000, "DEBUG logs should be verbose"
    for token in used:
        for piece in {token, token[:PIECE], token[-PIECE:]}:
            leaks = [name for name, text in logs.items() if piece in text]
            assert not leaks, f"a token appears in {leaks}"
            assert not any(piece.encode() in record for record in records), "token in a DLQ"
