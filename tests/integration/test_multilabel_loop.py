"""A multi-label dataset through the loop, against the real broker and Postgres: Yeast items
(vectors) are scored by a one-vs-rest model with a probability per label, routed by label set
(a prediction missing a label's probability is dead-lettered with the reason), reviewed as a
label set over the review API (a 422 names a label outside the dataset), audited, and exported
with the label set and what the person added and removed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_audit.app import create_app as audit_app
from mitl_audit.settings import Settings as AuditSettings
from mitl_contracts import topics
from mitl_contracts.events import Decision, ItemContent, ItemIngested, Label, Prediction
from mitl_inference.app import create_app as inference_app
from mitl_inference.settings import Settings as InferenceSettings
from mitl_ml.bootstrap_multilabel import build_multilabel_bootstrap
from mitl_ml.multilabel_data import load_yeast
from mitl_review.app import create_app as review_app
from mitl_review.settings import Settings as ReviewSettings
from mitl_review.store import users
from mitl_router.app import create_app as router_app
from mitl_router.settings import Settings as RouterSettings
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

ITEMS = 12


def write_catalog(folder: Path) -> Path:
    bundle = folder / "yeast-ovr"
    build_multilabel_bootstrap(bundle, "yeast", seed_size=300, seed=0)
    labels = ", ".join(f"Class{n}" for n in range(1, 15))
    path = folder / "datasets.yaml"
    path.write_text(
        "datasets:\n"
        "  yeast:\n"
        "    task: multilabel\n"
        "    input_kind: vector\n"
        "    vector_dim: 103\n"
        f"    labels: [{labels}]\n"
        f"    model: {bundle}\n"
        "    policy:\n"
        "      version: yeast-it\n"
        "      accept_threshold: 0.6\n"
        "      escalation_floor: 0.1\n"
        "      escalate_on_model_change: false\n"
    )
    return path


def items(run: str) -> list[ItemIngested]:
    data = load_yeast()
    return [
        ItemIngested(
            event_id=f"ing-{run}-{i}",
            dataset="yeast",
            item_id=f"{run}-{i}",
            external_id=f"gene-{i}",
            batch_id=f"b-{run}",
            content=ItemContent(vector=[float(v) for v in data.x[2000 + i]]),
        )
        for i in range(ITEMS)
    ]


async def test_yeast_items_are_scored_routed_reviewed_audited_and_exported(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    kafka = service_env["kafka_bootstrap_servers"]
    run = uuid.uuid4().hex[:8]
    env = {**service_env, "datasets_file": write_catalog(tmp_path)}
    audit_db = f"audit_ml_{run}"
    audit_url = await create_database(service_env["database_url"], audit_db)
    sent = items(run)
    missing = {
        "event_id": f"p-missing-{run}", "dataset": "yeast", "item_id": f"{run}-missing",
        "content": {"vector": [0.0] * 103}, "model_version": "m",
        "labels": [f"Class{n}" for n in range(1, 15)], "probabilities": [1 / 14] * 14,
        "label_probabilities": {f"Class{n}": 0.5 for n in range(1, 14)},
    }  # fmt: skip
    review = review_app(ReviewSettings(**{**env, "gold_rate": 0.0}))
    try:
        async with (
            running_app(inference_app(InferenceSettings(**env))),
            running_app(router_app(RouterSettings(**env))),
            running_app(review) as client,
            running_app(
                audit_app(AuditSettings(**{**env, "database_url": audit_url})), AUDITOR
            ) as audit,
        ):
            await publish_events(kafka, topics.ITEMS_INGESTED, sent)
            await publish_raw(kafka, topics.PREDICTIONS, [json.dumps(missing).encode()])
            async with TopicReader(kafka, topics.DECISIONS) as decisions:
                await decisions.wait_for(
                    lambda _: (
                        len(
                            {
                                d.item_id
                                for d in decisions.events(Decision)
                                if d.item_id.startswith(run)
                            }
                        )
                        == ITEMS
                    )
                )
            async with TopicReader(kafka, topics.PREDICTIONS) as predictions:
                await predictions.wait_for(
                    lambda _: any(p.item_id.startswith(run) for p in predictions.events(Prediction))
                )
            async with TopicReader(kafka, topics.dlq(topics.PREDICTIONS)) as dlq:
                dead = await dlq.wait_for(lambda recs: any(run.encode() in r.value for r in recs))

            mine = [p for p in predictions.events(Prediction) if p.item_id.startswith(run)]
            assert all(p.task == "multilabel" and len(p.label_probabilities or {}) == 14
                       for p in mine)  # fmt: skip
            routed = {d.item_id: d for d in decisions.events(Decision) if d.item_id.startswith(run)}
            assert all(d.predicted_labels is not None for d in routed.values())
            reasons = [dict(r.headers)["mitl-dlq-reason"].decode() for r in dead
                       if run.encode() in r.value]  # fmt: skip
            assert any("no probability for label(s) Class14" in r for r in reasons), reasons

            reviewed = [d for d in routed.values() if d.route != "accept"]
            assert reviewed, "every item was accepted: nothing to review"
            pool = review.state.review.pool
            admin = {"Authorization": f"Bearer {await users.create(pool, f'adm-{run}', 'admin')}"}
            ann_name = f"ann-{run}"
            token = await users.create(pool, ann_name, "annotator")
            ann = {"Authorization": f"Bearer {token}"}

            async def queued() -> bool:
                response = await client.get("/v1/queues", headers=admin)
                rows = response.json()["queues"]
                return any(r["dataset"] == "yeast" and r["depth"] >= 1 for r in rows)

            await eventually(queued, timeout=60)
            task = (await client.post("/v1/queues/yeast/annotator/claim", headers=ann)).json()
            assert task["multilabel"] and task["dataset"] == "yeast"
            suggestion = task["suggestion"]
            suggested = [] if suggestion is None else [
                x for x in suggestion["label"].split("|") if x
            ]  # fmt: skip
            url = f"/v1/tasks/{task['task_id']}/submit"
            bad = await client.post(url, json={"action": "correct", "labels": ["Class99"]},
                                    headers=ann)  # fmt: skip
            assert bad.status_code == 422 and "Class99" in bad.json()["detail"]
            # The person's set: the suggestion with Class1 toggled.
            chosen = sorted(set(suggested) ^ {"Class1"})
            done = await client.post(url, json={"action": "correct", "labels": chosen},
                                     headers=ann)  # fmt: skip
            assert done.status_code == 200, done.text
            async with TopicReader(kafka, topics.LABELS) as labels:
                await labels.wait_for(
                    lambda _: any(x.annotator == ann_name for x in labels.events(Label))
                )
            [human] = [x for x in labels.events(Label) if x.annotator == ann_name]
            assert human.labels == chosen and human.is_override
            changed = set(human.labels_added) | set(human.labels_removed)
            assert changed == {"Class1"}

            async def exported() -> list[dict[str, Any]]:
                response = await audit.get("/v1/export/yeast", params={"format": "jsonl"})
                if response.status_code != 200:
                    return []
                rows = [json.loads(line) for line in response.text.splitlines()]
                return [r for r in rows if r["item_id"] == human.item_id]

            [row] = await eventually(exported, timeout=60)
            assert row["labels"] == chosen and row["vector"] is not None
            provenance = row["provenance"]
            assert provenance["labeled_by"] == ann_name and provenance["overrides_model"]
            assert set(provenance["labels_added"]) | set(provenance["labels_removed"]) == {"Class1"}

            report = (await audit.get("/v1/reports/yeast")).json()
            figures = report["per_label"]["Class1"]
            assert figures["verified"] >= 1
            assert figures["added"] + figures["removed"] >= 1
    finally:
        await drop_database(service_env["database_url"], audit_db)
