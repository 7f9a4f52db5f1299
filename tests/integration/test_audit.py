"""The audit service against the real broker and Postgres: events (policy changes included) into
the chained log once each, items beside it, overrides, dead-lettering, reports with spot-check
precision and the override list over HTTP; exports as JSONL and Parquet over HTTP and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pyarrow.parquet as pq
import pytest
from httpx import AsyncClient
from mitl_audit.app import create_app
from mitl_audit.core.export import ARROW_SCHEMA
from mitl_audit.core.precision import wilson
from mitl_audit.settings import Settings
from mitl_cli.main import main as mitl
from mitl_contracts import topics
from mitl_contracts.events import (
    Decision,
    DriftAlert,
    Event,
    ItemContent,
    ItemIngested,
    Label,
    ModelPromoted,
    PolicyChanged,
)
from mitl_policy.ppi import ppi_interval
from mitl_runtime.localinfra import create_database, drop_database

from tests.support import (
    AUDITOR,
    AUDITOR_TOKEN,
    TopicReader,
    eventually,
    publish_events,
    publish_raw,
    running_app,
)

pytestmark = pytest.mark.integration
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
LABELED_AT = T0 + timedelta(hours=1)


def decision(
    dataset: str, n: int, route: str, model: str, batch: str, spot_check: bool = False
) -> Decision:
    return Decision.model_validate(
        {
            "event_id": f"decision-{dataset}-{n}",
            "dataset": dataset,
            "item_id": f"item-{n}",
            "batch_id": batch,
            "prediction_event_id": f"prediction-{n}",
            "route": route,
            "reason": "test",
            "predicted_label": "A",
            "confidence": 0.95 if route == "accept" else 0.5,
            "spot_check": spot_check,
            "model_version": model,
            "policy_version": "p1",
            "occurred_at": T0,
        }
    )


BATCHES = {1: "b1", 2: "b1", 3: "b2", 4: "b2", 5: "b2", 6: "b2"}


def label(dataset: str, n: int, value: str, **fields: object) -> Label:
    return Label.model_validate(
        {
            "event_id": f"label-{dataset}-{n}",
            "dataset": dataset,
            "item_id": f"item-{n}",
            "batch_id": BATCHES.get(n, ""),
            "label": value,
            "suggested_label": "A",
            "model_version": "m1",
            "policy_version": "p1",
            "occurred_at": LABELED_AT,
        }
        | fields
    )


def item(dataset: str, n: int, batch: str) -> ItemIngested:
    return ItemIngested(
        event_id=f"ingested-{dataset}-{n}",
        dataset=dataset,
        item_id=f"item-{n}",
        external_id=f"q{n}",
        batch_id=batch,
        content=ItemContent(text=f"Question number {n} ?", metadata={"n": str(n)}),
        occurred_at=T0,
    )


BLIND_BOB: dict[str, object] = {"annotator": "bob", "suggestion_shown": False}


def history(dataset: str) -> dict[str, list[Event]]:
    """Six items: 1 accepted, 2 confirmed, 3 corrected, 4 escalated and resolved by an expert,
    5 and 6 accepted and spot-checked blind by bob (5 disagrees, 6 agrees)."""
    decisions = [
        decision(dataset, 1, "accept", "m1", "b1"),
        decision(dataset, 2, "review", "m1", "b1"),
        decision(dataset, 3, "review", "m1", "b2"),
        decision(dataset, 4, "escalate", "m2", "b2"),
        decision(dataset, 5, "accept", "m1", "b2", spot_check=True),
        decision(dataset, 6, "accept", "m1", "b2"),
    ]
    labels = [
        label(dataset, 1, "A", source="model", action="auto_accept"),
        label(dataset, 2, "A", source="annotator", action="confirm", annotator="ada"),
        label(dataset, 3, "B", source="annotator", action="correct", annotator="ada"),
        label(
            dataset, 4, "C", source="expert", action="resolve", annotator="eve", model_version="m2"
        ),
        label(dataset, 5, "A", source="model", action="auto_accept", event_id=f"auto-{dataset}-5"),
        label(dataset, 5, "B", source="annotator", action="correct", **BLIND_BOB),
        label(dataset, 6, "A", source="model", action="auto_accept", event_id=f"auto-{dataset}-6"),
        label(dataset, 6, "A", source="annotator", action="confirm", **BLIND_BOB),
    ]
    policy = PolicyChanged(
        event_id=f"policy-{dataset}-p2",
        dataset=dataset,
        policy_version="p2",
        policy={"accept_thresholds": {"A": 0.8}, "spot_check_rate": 0.1},
        reason="learned thresholds",
        changed_by="router",
        occurred_at=T0,
    )
    return {
        topics.ITEMS_INGESTED: [item(dataset, n, batch) for n, batch in BATCHES.items()],
        topics.DECISIONS: list(decisions),
        topics.LABELS: list(labels),
        topics.POLICIES: [policy],
    }


@dataclass
class Audited:
    client: AsyncClient
    dataset: str
    run: str
    database_url: str
    kafka: str


@pytest.fixture(scope="module")
async def audited(service_env: dict) -> AsyncIterator[Audited]:
    """One audit service on a database of its own, fed one dataset's history (with replays
    and bad messages), waited on until everything has landed."""
    run = uuid.uuid4().hex[:8]
    name = f"audit_{run}"
    url = await create_database(service_env["database_url"], name)
    # Agreement gauges recomputed at once, for every pair of people.
    agreement = {"agreement_interval_seconds": 0.2, "agreement_min_pair_items": 1}
    env = {**service_env, "database_url": url, **agreement}
    kafka = env["kafka_bootstrap_servers"]
    dataset, sentinel = f"audit-{run}", f"audit-{run}-sentinel"
    events = history(dataset)
    decisions, labels = events[topics.DECISIONS], events[topics.LABELS]
    bad = [
        f"{{not json {run}".encode(),
        json.dumps({"dataset": dataset, "item_id": "item-2", "source": "annotator"}).encode(),
        label(dataset, 9, "A", source="annotator", action="confirm", annotator="a\x00b")
        .model_dump_json()
        .encode(),
    ]
    async with running_app(create_app(Settings(**env)), AUDITOR) as client:
        await publish_raw(kafka, topics.LABELS, bad, key=b"item-2")
        for topic, published in events.items():
            await publish_events(kafka, topic, published)
        await publish_events(
            kafka,
            topics.MODELS,
            [ModelPromoted(dataset=dataset, model_version="m2", status="champion")],
        )
        drift = DriftAlert(
            dataset=dataset,
            model_version="m1",
            state="alert",
            statistic="psi",
            value=0.31,
            threshold=0.2,
            window_size=500,
            reference_size=2000,
            details={"bins": [0.1, 0.2, 0.7]},
        )
        await publish_events(kafka, topics.DRIFT, [drift])
        # Replays, then on the same keys (so the same partitions) events of another dataset:
        # once those are logged, the replays before them have been consumed.
        await publish_events(kafka, topics.DECISIONS, [decisions[0], decisions[0]])
        await publish_events(kafka, topics.LABELS, [labels[2]])
        await publish_events(kafka, topics.ITEMS_INGESTED, events[topics.ITEMS_INGESTED][:2])
        await publish_events(kafka, topics.DECISIONS, [decision(sentinel, 1, "accept", "m1", "s")])
        await publish_events(
            kafka, topics.LABELS, [label(sentinel, 3, "A", source="model", action="auto_accept")]
        )
        conn = await asyncpg.connect(url)
        try:
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 2 FROM audit.log WHERE dataset = $1", sentinel
                ),
                timeout=45,
            )
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 17 FROM audit.log WHERE dataset = $1", dataset
                )
            )
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 6 FROM audit.items WHERE dataset = $1", dataset
                )
            )
        finally:
            await conn.close()
        yield Audited(client, dataset, run, url, kafka)
    await drop_database(service_env["database_url"], name)


async def rows(audited: Audited, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(audited.database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def test_each_event_is_logged_once_with_its_kind(audited: Audited) -> None:
    logged = await rows(
        audited,
        "SELECT kind, count(*) AS n, count(DISTINCT event_id) AS events FROM audit.log"
        " WHERE dataset = $1 GROUP BY kind",
        audited.dataset,
    )
    assert {r["kind"]: (r["n"], r["events"]) for r in logged} == {
        "decision": (6, 6),
        "label": (8, 8),
        "model": (1, 1),
        "drift": (1, 1),
        "policy": (1, 1),
    }
    (policy,) = await rows(
        audited,
        "SELECT policy_version, payload->'policy' AS policy, payload->>'changed_by' AS by"
        " FROM audit.log WHERE dataset = $1 AND kind = 'policy'",
        audited.dataset,
    )
    assert (policy["policy_version"], policy["by"]) == ("p2", "router")
    assert json.loads(policy["policy"]) == {"accept_thresholds": {"A": 0.8}, "spot_check_rate": 0.1}
    (accepted,) = await rows(
        audited,
        "SELECT route, model_version, policy_version, predicted_label, confidence,"
        " payload->>'batch_id' AS batch_id, occurred_at FROM audit.log WHERE event_id = $1",
        f"decision-{audited.dataset}-1",
    )
    assert dict(accepted) == {
        "route": "accept",
        "model_version": "m1",
        "policy_version": "p1",
        "predicted_label": "A",
        "confidence": 0.95,
        "batch_id": "b1",
        "occurred_at": T0,
    }


async def test_an_override_row_names_the_model_and_both_labels(audited: Audited) -> None:
    logged = await rows(
        audited,
        "SELECT item_id, is_override, model_version, suggested_label, label, annotator, source,"
        " action FROM audit.log WHERE dataset = $1 AND kind = 'label' ORDER BY item_id",
        audited.dataset,
    )
    overrides = {r["item_id"] for r in logged if r["is_override"]}
    assert overrides == {"item-3", "item-4", "item-5"}
    correction = next(r for r in logged if r["item_id"] == "item-3")
    assert dict(correction) == {
        "item_id": "item-3",
        "is_override": True,
        "model_version": "m1",
        "suggested_label": "A",
        "label": "B",
        "annotator": "ada",
        "source": "annotator",
        "action": "correct",
    }


async def test_bad_label_messages_are_dead_lettered_and_consumption_goes_on(
    audited: Audited,
) -> None:
    async with TopicReader(audited.kafka, topics.dlq(topics.LABELS)) as dlq:
        records = await dlq.wait_for(
            lambda recs: sum(audited.run.encode() in r.value for r in recs) >= 3
        )
    mine = [r for r in records if audited.run.encode() in r.value]
    headers = [{k: v.decode() for k, v in r.headers} for r in mine]
    assert {h["mitl-dlq-service"] for h in headers} == {"audit"}
    reasons = " | ".join(h["mitl-dlq-reason"] for h in headers)
    assert "Invalid JSON" in reasons
    assert "label: Field required" in reasons
    assert "NUL character" in reasons
    # The good label published after them on the same partition was logged.
    assert await rows(
        audited, "SELECT 1 FROM audit.log WHERE event_id = $1", f"label-{audited.dataset}-2"
    )


async def test_report_json_counts_routes_overrides_precision_and_annotators(
    audited: Audited,
) -> None:
    response = await audited.client.get(f"/v1/reports/{audited.dataset}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"] == {"from": None, "to": None}
    assert body["decisions"] == {
        "total": 6,
        "accept": 3,
        "review": 2,
        "escalate": 1,
        "auto_accepted_share": 0.5,
        "reviewed_share": pytest.approx(1 / 3),
        "escalated_share": pytest.approx(1 / 6),
    }
    assert body["labels"] == {
        "total": 8,
        "auto_accepted": 3,
        "human": 5,
        "overrides": 3,
        "override_rate": pytest.approx(3 / 5),
    }
    # Items 5 and 6 were accepted and checked blind: one kept the label, one did not.
    low, high = wilson(1, 2)
    ppi = ppi_interval([0.95] * 3, [(0.95, True), (0.95, False)], 0.95)
    assert ppi.estimate == pytest.approx(0.5)
    assert body["accepted_precision"] == {
        "spot_checks": 2,
        "agreed": 1,
        "precision": 0.5,
        "ci_low": pytest.approx(low),
        "ci_high": pytest.approx(high),
        "confidence": 0.95,
        # Prediction-powered: the 3 accepted items' confidences (0.95 each) corrected by the
        # checks' residuals (+0.05 and -0.95); with 2 checks it is no narrower than Wilson's.
        "ppi_precision": pytest.approx(ppi.estimate),
        "ppi_low": pytest.approx(ppi.low),
        "ppi_high": pytest.approx(ppi.high),
        "ppi_narrower_by": pytest.approx(1 - (ppi.high - ppi.low) / (high - low)),
    }
    by_model = body["by_model_version"]
    assert {k: v["decisions"]["total"] for k, v in by_model.items()} == {"m1": 5, "m2": 1}
    batches = body["by_batch"]
    assert {k: v["decisions"]["review"] for k, v in batches.items()} == {"b1": 1, "b2": 1}
    assert batches["b1"]["accepted_precision"]["spot_checks"] == 0
    assert batches["b2"]["accepted_precision"]["spot_checks"] == 2
    assert batches["b2"]["labels"]["override_rate"] == pytest.approx(3 / 4)
    assert body["by_class"]["A"]["decisions"]["auto_accepted_share"] == 0.5
    people = {a["annotator"]: a for a in body["annotators"]}
    assert people["ada"] == {
        "annotator": "ada",
        "labels": 2,
        "confirm": 1,
        "correct": 1,
        "resolve": 0,
        "overrides": 1,
        "override_rate": 0.5,
        "confirmation_rate": 0.5,
        "accepted_precision": {
            "spot_checks": 0,
            "agreed": 0,
            "precision": None,
            "ci_low": None,
            "ci_high": None,
            "confidence": 0.95,
            "ppi_precision": None,
            "ppi_low": None,
            "ppi_high": None,
            "ppi_narrower_by": None,
        },
    }
    assert people["bob"]["accepted_precision"]["precision"] == 0.5
    assert people["bob"]["confirmation_rate"] == 0.5
    assert people["eve"]["resolve"] == 1 and people["eve"]["confirmation_rate"] is None
    # No item has labels from two people: nothing to measure agreement on.
    assert body["agreement"] == {
        "items": 0,
        "labels": 0,
        "annotators": 0,
        "observed_agreement": None,
        "krippendorff_alpha": None,
        "fleiss_kappa": None,
        "fleiss_items": 0,
        "fleiss_raters": 0,
        "pairs": [],
        "by_label": {},
        "entities": None,
    }


async def test_report_and_gauges_show_agreement_on_items_several_people_labeled(
    audited: Audited, capsys: pytest.CaptureFixture[str]
) -> None:
    """Items 1-4 labeled by two or three people (ada and bob disagree on item 3, which an
    expert then resolves: a resolution is not an independent label); item 5 by one."""
    dataset = f"agree-{audited.run}"
    now = datetime.now(UTC)
    given = [
        (1, "ada", "A"),
        (1, "bob", "A"),
        (2, "ada", "B"),
        (2, "bob", "B"),
        (3, "ada", "A"),
        (3, "bob", "B"),
        (4, "ada", "B"),
        (4, "bob", "B"),
        (4, "cyd", "B"),
        (5, "ada", "A"),
    ]
    labels = [
        label(
            dataset,
            n,
            value,
            event_id=f"label-{dataset}-{n}-{who}",
            source="annotator",
            action="correct",
            annotator=who,
            occurred_at=now,
        )
        for n, who, value in given
    ]
    resolved = label(
        dataset, 3, "B", source="expert", action="resolve", annotator="eve", occurred_at=now
    )
    await publish_events(audited.kafka, topics.LABELS, [*labels, resolved])
    await eventually(
        lambda: rows(audited, "SELECT 1 FROM audit.log WHERE dataset = $1 OFFSET 10", dataset)
    )

    response = await audited.client.get(f"/v1/reports/{dataset}")
    assert response.status_code == 200, response.text
    agreement = response.json()["agreement"]
    assert (agreement["items"], agreement["labels"], agreement["annotators"]) == (4, 9, 3)
    # Coincidences: A-A 2, B-B 5, A-B and B-A 1 each; alpha = 1 - (2/9) / (36/72).
    assert agreement["krippendorff_alpha"] == pytest.approx(5 / 9)
    assert agreement["observed_agreement"] == pytest.approx(7 / 9)
    # Fleiss: the three items with two labels; P-bar 2/3, chance 1/2.
    assert (agreement["fleiss_items"], agreement["fleiss_raters"]) == (3, 2)
    assert agreement["fleiss_kappa"] == pytest.approx(1 / 3)
    ada_bob = agreement["pairs"][0]
    assert ada_bob == {
        "annotator_a": "ada",
        "annotator_b": "bob",
        "items": 4,
        "observed_agreement": 0.75,
        "cohen_kappa": pytest.approx(0.5),
    }
    assert [(p["annotator_a"], p["annotator_b"], p["items"]) for p in agreement["pairs"]] == [
        ("ada", "bob", 4),
        ("ada", "cyd", 1),
        ("bob", "cyd", 1),
    ]
    assert agreement["by_label"]["B"]["labels"] == 6
    # Of the 9 pairings that start from a B (2 on item 2, 1 on item 3, 6 on item 4), 8 agree.
    assert agreement["by_label"]["B"]["specific_agreement"] == pytest.approx(8 / 9)

    csv_text = (await audited.client.get(f"/v1/reports/{dataset}?format=csv")).text
    assert "agreement_pair,ada/bob,cohen_kappa,0.5" in csv_text.splitlines()

    code = await asyncio.to_thread(
        mitl, ["audit", "report", "--dataset", dataset, "--database-url", audited.database_url]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["agreement"]["krippendorff_alpha"] == pytest.approx(5 / 9)

    async def gauges() -> str | None:
        text = (await audited.client.get("/metrics")).text
        return text if f'mitl_audit_agreement_items{{dataset="{dataset}"}} 4.0' in text else None

    metrics = await eventually(gauges)
    alpha = f'mitl_audit_agreement_krippendorff_alpha{{dataset="{dataset}"}} '
    (line,) = [x for x in metrics.splitlines() if x.startswith(alpha)]
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(5 / 9)
    pair = f'annotator_a="ada",annotator_b="bob",dataset="{dataset}"'
    assert f"mitl_audit_agreement_cohen_kappa{{{pair}}} 0.5" in metrics


async def test_report_window_and_csv(audited: Audited) -> None:
    after_decisions = (T0 + timedelta(minutes=30)).isoformat()
    response = await audited.client.get(
        f"/v1/reports/{audited.dataset}", params={"from": after_decisions, "format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    value = {
        (r["section"], r["key"], r["metric"]): r["value"]
        for r in csv.DictReader(io.StringIO(response.text))
    }
    assert value[("all", "all", "decisions.total")] == "0"
    assert value[("all", "all", "labels.human")] == "5"
    # Spot checks count by the time of the label, joined to decisions outside the window.
    assert value[("all", "all", "accepted_precision.spot_checks")] == "2"
    assert value[("annotator", "ada", "confirmation_rate")] == "0.5"
    assert value[("batch", "b2", "accepted_precision.precision")] == "0.5"
    before_labels = await audited.client.get(
        f"/v1/reports/{audited.dataset}", params={"to": after_decisions}
    )
    assert before_labels.json()["decisions"]["total"] == 6
    assert before_labels.json()["labels"]["total"] == 0
    assert before_labels.json()["accepted_precision"]["spot_checks"] == 0


async def test_report_rejects_unknown_datasets_and_backwards_windows(audited: Audited) -> None:
    unknown = await audited.client.get(f"/v1/reports/nope-{audited.run}")
    assert unknown.status_code == 404 and f"unknown dataset 'nope-{audited.run}'" in unknown.text
    in_catalog = await audited.client.get("/v1/reports/trec6")
    assert in_catalog.status_code == 200
    backwards = await audited.client.get(
        f"/v1/reports/{audited.dataset}",
        params={"from": "2026-05-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
    )
    assert backwards.status_code == 422
    assert "'from' (2026-05-01T00:00:00+00:00) is after 'to'" in backwards.text
    bad_format = await audited.client.get(f"/v1/reports/{audited.dataset}?format=xml")
    assert bad_format.status_code == 422 and "format" in bad_format.text
    bad_time = await audited.client.get(f"/v1/reports/{audited.dataset}?from=yesterday")
    assert bad_time.status_code == 422 and "from" in bad_time.text


async def test_overrides_endpoint_lists_override_rows(audited: Audited) -> None:
    response = await audited.client.get(f"/v1/overrides/{audited.dataset}")
    assert response.status_code == 200, response.text
    listed = response.json()["overrides"]
    assert {
        (o["item_id"], o["model_version"], o["suggested_label"], o["label"], o["annotator"])
        for o in listed
    } == {
        ("item-3", "m1", "A", "B", "ada"),
        ("item-4", "m2", "A", "C", "eve"),
        ("item-5", "m1", "A", "B", "bob"),
    }
    assert [o["seq"] for o in listed] == sorted((o["seq"] for o in listed), reverse=True)
    one = await audited.client.get(f"/v1/overrides/{audited.dataset}", params={"limit": 1})
    assert len(one.json()["overrides"]) == 1
    assert (await audited.client.get(f"/v1/overrides/{audited.dataset}?limit=0")).status_code == 422
    assert (await audited.client.get(f"/v1/overrides/nope-{audited.run}")).status_code == 404


async def test_metrics_and_a_valid_chain(
    audited: Audited, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = (await audited.client.get("/metrics")).text
    assert f'mitl_audit_overrides_total{{dataset="{audited.dataset}"}} 3.0' in metrics
    assert f'mitl_audit_items_recorded_total{{dataset="{audited.dataset}"}} 6.0' in metrics
    assert 'mitl_audit_rows_appended_total{kind="drift"}' in metrics
    (head,) = await rows(audited, "SELECT max(seq) AS seq, count(*) AS n FROM audit.log")
    assert head["seq"] == head["n"]
    assert f"mitl_audit_chain_head_seq {float(head['seq'])}" in metrics
    code = await asyncio.to_thread(
        mitl, ["audit", "verify", "--database-url", audited.database_url]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == f"ok: {head['n']} rows"


def by_item(rows: list[dict]) -> dict[str, dict]:
    return {row["item_id"]: row for row in rows}


async def test_export_jsonl_has_each_item_with_its_final_label_and_provenance(
    audited: Audited,
) -> None:
    response = await audited.client.get(f"/v1/export/{audited.dataset}", params={"format": "jsonl"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["x-mitl-export-items"] == "6"
    # The export itself is in the chain, with who asked (never their token).
    accesses = await rows(
        audited,
        "SELECT payload, action FROM audit.log WHERE kind = 'access' AND dataset = $1",
        audited.dataset,
    )
    exports = [json.loads(r["payload"]) for r in accesses if r["action"] == "export"]
    assert {"by": "static-token:auditor-token", "format": "jsonl", "items": 6}.items() <= exports[
        0
    ].items()
    assert all(AUDITOR_TOKEN not in r["payload"] for r in accesses)
    code = await asyncio.to_thread(
        mitl, ["audit", "verify", "--database-url", audited.database_url]
    )
    assert code == 0
    items = by_item([json.loads(line) for line in response.text.splitlines()])
    assert {k: v["label"] for k, v in items.items()} == {
        "item-1": "A",
        "item-2": "A",
        "item-3": "B",
        "item-4": "C",
        # A person's label wins over the model's accepted one, given earlier or later.
        "item-5": "B",
        "item-6": "A",
    }
    five = items["item-5"]
    assert (five["text"], five["external_id"], five["batch_id"]) == (
        "Question number 5 ?",
        "q5",
        "b2",
    )
    assert five["metadata"] == {"n": "5"}
    (logged,) = await rows(
        audited,
        "SELECT seq, row_hash FROM audit.log WHERE event_id = $1",
        f"label-{audited.dataset}-5",
    )
    assert five["provenance"] == {
        "source": "annotator",
        "labeled_by": "bob",
        "role": None,
        "action": "correct",
        "model_version": "m1",
        "policy_version": "p1",
        "guideline_version": None,
        "labeled_at": LABELED_AT.isoformat(timespec="microseconds"),
        "suggested_label": "A",
        "overrides_model": True,
        "human_labels": 1,
        "decision_route": "accept",
        "decision_confidence": 0.95,
        "spot_check": True,
        "event_id": f"label-{audited.dataset}-5",
        "audit_seq": logged["seq"],
        "audit_row_hash": logged["row_hash"],
    }
    one = items["item-1"]["provenance"]
    assert (one["source"], one["labeled_by"], one["action"]) == ("model", "m1", "auto_accept")
    four = items["item-4"]["provenance"]
    assert (four["source"], four["labeled_by"], four["model_version"]) == ("expert", "eve", "m2")
    assert four["decision_route"] == "escalate"


async def test_export_parquet_reads_back_with_pyarrow(audited: Audited) -> None:
    response = await audited.client.get(
        f"/v1/export/{audited.dataset}", params={"format": "parquet"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(response.content))
    assert table.schema == ARROW_SCHEMA
    items = by_item(table.to_pylist())
    assert sorted(items) == [f"item-{n}" for n in range(1, 7)]
    three = items["item-3"]
    assert (three["label"], three["text"], three["metadata"]) == (
        "B",
        "Question number 3 ?",
        [("n", "3")],
    )
    assert three["provenance"]["labeled_by"] == "ada"
    assert three["provenance"]["labeled_at"] == LABELED_AT
    assert three["provenance"]["overrides_model"] is True


async def test_export_selects_by_batch_and_time(audited: Audited) -> None:
    url = f"/v1/export/{audited.dataset}"

    async def exported(**params: str) -> list[str]:
        response = await audited.client.get(url, params=params)
        assert response.status_code == 200, response.text
        return sorted(json.loads(line)["item_id"] for line in response.text.splitlines())

    assert await exported(batch="b1") == ["item-1", "item-2"]
    assert await exported(batch="nope") == []
    assert await exported(to=(LABELED_AT - timedelta(minutes=1)).isoformat()) == []
    assert len(await exported(**{"from": LABELED_AT.isoformat()})) == 6
    assert (await audited.client.get(f"/v1/export/nope-{audited.run}")).status_code == 404
    backwards = await audited.client.get(
        url, params={"from": "2026-05-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}
    )
    assert backwards.status_code == 422 and "is after 'to'" in backwards.text
    assert (await audited.client.get(url, params={"format": "xml"})).status_code == 422
    # No dataset is called that, and Postgres could not even be asked: 404 without a query.
    assert (await audited.client.get("/v1/export/a%00b")).status_code == 404
    edge = await audited.client.get(url, params={"from": "0001-01-01T00:00:00+01:00"})
    assert edge.status_code == 422 and "cannot be expressed in UTC" in edge.text
    nul = await audited.client.get(url, params={"batch": "b\x001"})
    assert nul.status_code == 422 and nul.json()["detail"]


async def test_export_command_writes_files_or_fails_cleanly(
    audited: Audited,
    datasets_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MITL_DATASETS_FILE", str(datasets_file))
    base = ["export", "--dataset", audited.dataset, "--database-url", audited.database_url]

    async def cli(*argv: str | Path) -> int:
        return await asyncio.to_thread(mitl, [*base, *map(str, argv)])

    out = tmp_path / "labels.jsonl"
    assert await cli("--out", out, "--batch", "b2") == 0
    assert f"wrote 4 labeled items of {audited.dataset}" in capsys.readouterr().out
    rows_written = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["item_id"] for r in rows_written) == ["item-3", "item-4", "item-5", "item-6"]

    parquet = tmp_path / "labels.parquet"
    assert await cli("--format", "parquet", "--out", parquet) == 0
    table = pq.read_table(parquet)
    assert table.num_rows == 6 and table.schema == ARROW_SCHEMA
    # The progress bar is on stderr; stdout is only the result line.
    shown = capsys.readouterr()
    assert f"export {audited.dataset} [####################] 6/6 items" in shown.err
    assert shown.out.startswith("wrote 6 labeled items")
    assert sorted(os.listdir(tmp_path)) == ["labels.jsonl", "labels.parquet"]

    unknown = ["export", "--dataset", f"nope-{audited.run}", "--out", str(tmp_path / "u.jsonl")]
    assert await asyncio.to_thread(mitl, [*unknown, "--database-url", audited.database_url]) == 1
    assert f"unknown dataset 'nope-{audited.run}'" in capsys.readouterr().err
    span = ("--from", "2026-05-01", "--to", "2026-04-01", "--out", tmp_path / "r.jsonl")
    assert await cli(*span) == 2
    assert "--from (2026-05-01 00:00:00+00:00) is after --to" in capsys.readouterr().err

    assert await cli("--out", tmp_path / "missing" / "x.jsonl") == 2
    assert "cannot write the export to" in capsys.readouterr().err
    assert await cli("--format", "parquet", "--out", out / "x.parquet") == 2
    assert "Not a directory" in capsys.readouterr().err
    assert await cli("--out", tmp_path) == 2
    assert "is a directory" in capsys.readouterr().err
    # Nothing half-written anywhere; the earlier exports are untouched.
    assert sorted(os.listdir(tmp_path)) == ["labels.jsonl", "labels.parquet"]
    assert len(out.read_text().splitlines()) == 4
