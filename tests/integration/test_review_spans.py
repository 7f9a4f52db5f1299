"""A span (NER) dataset through review and audit, against the real broker and Postgres: span
review requests become span tasks (one with spans outside the text is dead-lettered with the
reason), a person's bad span sets get a 422 naming the fault, the correction publishes a label
with the spans, the suggested spans and what changed, the review store keeps both sets, and
audit keeps them in the chain, counts the span override and exports the item in each named
format with its provenance."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from mitl_audit.app import create_app as audit_app
from mitl_audit.core import chain
from mitl_audit.core.span_formats import read_conll
from mitl_audit.settings import Settings as AuditSettings
from mitl_audit.store import log as audit_log
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, ItemIngested, Label
from mitl_contracts.spans import Span, spans_key
from mitl_review.app import create_app as review_app
from mitl_review.settings import Settings as ReviewSettings
from mitl_review.store import users
from mitl_runtime.localinfra import create_database, drop_database

from tests.support import (
    AUDITOR,
    TopicReader,
    eventually,
    publish_events,
    publish_raw,
    running_app,
)

pytestmark = pytest.mark.integration

LABELS = ["PER", "LOC", "ORG"]
TEXT = "Ada Lovelace met Babbage in London"
# "Ada Lovelace" PER [0, 12), "Babbage" [17, 24) (missed by the model), "London" [28, 34).
SUGGESTED = [
    Span(start=0, end=12, label="PER", confidence=0.93),
    Span(start=28, end=34, label="ORG", confidence=0.51),
]


def write_catalog(folder: Path, dataset: str) -> Path:
    path = folder / "datasets.yaml"
    path.write_text(
        "datasets:\n"
        "  trec6:\n"
        "    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]\n"
        f"  {dataset}:\n"
        "    task: spans\n"
        f"    labels: {LABELS}\n"
    )
    return path


def span_request(dataset: str, name: str, spans: list[Span], text: str = TEXT) -> dict[str, Any]:
    return {
        "event_id": f"rr-{dataset}-{name}",
        "dataset": dataset,
        "item_id": f"item-{dataset}-{name}",
        "decision_event_id": f"decision-{dataset}-{name}",
        "queue": "annotator",
        "priority": 0.5,
        "reason": "least certain span at 0.510",
        "content": {"text": text},
        "suggested_label": spans_key(spans),
        "confidence": 0.51,
        "labels": LABELS,
        "probabilities": [0.6, 0.0, 0.4],
        "model_version": "ner-m1",
        "policy_version": "ner-v1",
        "suggested_spans": [s.model_dump(exclude_none=True) for s in spans],
        "spans_complete": 0.7,
    }


@pytest.fixture
async def audit_url(service_env: dict[str, Any]) -> AsyncIterator[str]:
    """A database of its own for audit, dropped afterwards."""
    name = f"audit_spans_{uuid.uuid4().hex[:8]}"
    url = await create_database(service_env["database_url"], name)
    try:
        yield url
    finally:
        await drop_database(service_env["database_url"], name)


async def test_span_items_are_reviewed_with_their_spans(
    service_env: dict[str, Any], tmp_path: Path, audit_url: str
) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    dataset = f"ner-{run}"
    env = {**service_env, "datasets_file": write_catalog(tmp_path, dataset), "gold_rate": 0.0}
    good = span_request(dataset, "good", SUGGESTED)
    outside = span_request(
        dataset, "outside", [Span(start=28, end=40, label="LOC", confidence=0.5)]
    )
    review = review_app(ReviewSettings(**env))
    audit = audit_app(AuditSettings(**{**env, "database_url": audit_url}))
    async with running_app(review) as client, running_app(audit, AUDITOR) as auditor:
        await publish_events(
            kafka,
            topics.ITEMS_INGESTED,
            [
                ItemIngested(
                    event_id=f"ing-{run}",
                    dataset=dataset,
                    item_id=good["item_id"],
                    external_id="tweet-1",
                    batch_id=f"b-{run}",
                    content=ItemContent(text=TEXT),
                )
            ],
        )
        for event in (outside, good):
            await publish_raw(kafka, topics.REVIEW_REQUESTED, [json.dumps(event).encode()])
        async with TopicReader(kafka, topics.dlq(topics.REVIEW_REQUESTED)) as dlq:
            dead = await dlq.wait_for(
                lambda rs: any(outside["event_id"].encode() in r.value for r in rs)
            )
        reason = next(
            dict(r.headers)["mitl-dlq-reason"].decode()
            for r in dead
            if outside["event_id"].encode() in r.value
        )
        assert "span [28, 40) runs outside the text (34 characters)" in reason, reason

        pool = review.state.review.pool
        ann_name = f"ann-{run}"
        ann = {"Authorization": f"Bearer {await users.create(pool, ann_name, 'annotator')}"}

        async def claimed() -> Any:
            response = await client.post(f"/v1/queues/{dataset}/annotator/claim", headers=ann)
            return response.json() if response.status_code == 200 else None

        task = await eventually(claimed)
        assert task["spans"] and not task["multilabel"] and task["labels"] == LABELS
        assert task["content"]["text"] == TEXT and not task["allow_overlap"]
        assert task["suggestion"]["spans"] == [s.model_dump(exclude_none=True) for s in SUGGESTED]
        assert task["suggestion"]["spans_complete"] == 0.7
        url = f"/v1/tasks/{task['task_id']}/submit"

        def body(*triples: tuple[int, int, str]) -> dict[str, Any]:
            spans = [{"start": s, "end": e, "label": lab} for s, e, lab in triples]
            return {"action": "correct", "spans": spans}

        for bad, fault in [
            (body((28, 35, "LOC")), "span [28, 35) runs outside the text (34 characters)"),
            (body((0, 12, "PER"), (4, 20, "PER")), "overlap"),
            (body((0, 12, "PERSON")), "has label 'PERSON', not one of the dataset's labels"),
        ]:
            refused = await client.post(url, json=bad, headers=ann)
            assert refused.status_code == 422, refused.text
            assert fault in refused.json()["detail"]
        reversed_span = await client.post(url, json=body((12, 5, "PER")), headers=ann)
        assert reversed_span.status_code == 422 and "empty or reversed" in reversed_span.text

        final = body((0, 12, "PER"), (17, 24, "PER"), (28, 34, "LOC"))
        done = await client.post(url, json={**final, "time_spent_ms": 4200}, headers=ann)
        assert done.status_code == 200, done.text
        assert done.json()["label"] == "0:12:PER|17:24:PER|28:34:LOC"
        again = await client.post(url, json=final, headers=ann)
        assert again.status_code == 200 and again.json() == done.json()

        async with TopicReader(kafka, topics.LABELS) as reader:
            await reader.wait_for(
                lambda _: any(x.annotator == ann_name for x in reader.events(Label))
            )
        [label] = [x for x in reader.events(Label) if x.annotator == ann_name]
        assert label.action == "correct" and label.is_override
        assert label.suggested_spans == SUGGESTED
        assert [s.key for s in label.spans or []] == ["0:12:PER", "17:24:PER", "28:34:LOC"]
        changes = label.span_changes
        assert changes is not None
        assert [s.key for s in changes.added] == ["17:24:PER"]
        assert [s.key for s in changes.relabelled] == ["28:34:LOC"] and not changes.removed

        row = await pool.fetchrow(
            "SELECT span_task, suggested_spans, spans, spans_complete FROM review.tasks "
            "WHERE task_id = $1",
            task["task_id"],
        )
        assert row["span_task"] and row["spans_complete"] == 0.7
        assert [s["label"] for s in json.loads(row["suggested_spans"])] == ["PER", "ORG"]
        assert json.loads(row["spans"]) == final["spans"]

        await check_audit(auditor, audit_url, dataset, label)


async def check_audit(auditor: Any, audit_url: str, dataset: str, label: Label) -> None:
    """The label in audit's chain with its span changes, counted in the report, exported in
    each span format with its provenance; the chain verifies."""

    async def exported(format: str) -> Any:
        response = await auditor.get(f"/v1/export/{dataset}", params={"format": format})
        if response.status_code != 200 or label.item_id not in response.text:
            return None
        return response

    conll = await eventually(lambda: exported("conll"), timeout=60)
    [item] = [i for i in read_conll(conll.text) if i.fields["item_id"] == label.item_id]
    assert item.fields["source"] == "annotator" and item.fields["labeled_by"] == label.annotator
    assert item.fields["model_version"] == "ner-m1" and item.fields["action"] == "correct"
    assert item.fields["external_id"] == "tweet-1"
    assert item.spans(TEXT) == label.spans
    assert item.tags == ["B-PER", "I-PER", "O", "B-PER", "O", "B-LOC"]

    spacy_docs = (await exported("spacy")).json()
    [doc] = [d for d in spacy_docs if d["mitl"]["item_id"] == label.item_id]
    assert doc["text"] == TEXT
    assert doc["ents"] == [s.model_dump(exclude={"confidence"}) for s in label.spans or []]
    assert doc["mitl"]["provenance"]["overrides_model"] is True

    tasks = (await exported("labelstudio")).json()
    [task] = [t for t in tasks if t["data"]["item_id"] == label.item_id]
    values = [r["value"] for r in task["annotations"][0]["result"]]
    assert [(v["start"], v["end"], v["text"], v["labels"]) for v in values] == [
        (0, 12, "Ada Lovelace", ["PER"]), (17, 24, "Babbage", ["PER"]),
        (28, 34, "London", ["LOC"]),
    ]  # fmt: skip
    assert [r["score"] for r in task["predictions"][0]["result"]] == [0.93, 0.51]

    refused = await auditor.get("/v1/export/trec6", params={"format": "conll"})
    assert refused.status_code == 422 and "holds entity spans" in refused.json()["detail"]

    report = (await auditor.get(f"/v1/reports/{dataset}")).json()
    spans = report["spans"]
    assert (spans["verified"], spans["overrides"], spans["suggested"], spans["final"]) == (
        1, 1, 2, 3,
    )  # fmt: skip
    assert (spans["added"], spans["removed"], spans["relabelled"], spans["kept"]) == (1, 0, 1, 1)
    assert spans["precision"] == 0.5 and spans["recall"] == 1 / 3

    conn = await asyncpg.connect(audit_url)
    try:
        changes = await conn.fetchval(
            "SELECT span_changes FROM audit.log WHERE event_id = $1", label.event_id
        )
        async with conn.transaction():
            rows = [row async for row in audit_log.stream_rows(conn)]
    finally:
        await conn.close()
    assert json.loads(changes)["added"] == [{"start": 17, "end": 24, "label": "PER"}]
    assert chain.verify(rows).ok
