"""Guarding against over-reliance, against the real broker and Postgres: gold items uploaded by
an admin and mixed blind into people's work, their answers scored and never published, and
per-annotator quality (API, metrics, flag)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from mitl_contracts import topics
from mitl_contracts.events import Label
from mitl_review.app import create_app
from mitl_review.core.gold import GOLD_REASON
from mitl_review.settings import Settings
from mitl_review.store import users
from prometheus_client import REGISTRY

from tests.integration.test_review import LABELS, publish_requests, review_request, write_datasets
from tests.integration.test_review_spans import span_request
from tests.support import TopicReader, eventually, running_app

pytestmark = pytest.mark.integration

SPAN_LABELS = ["PER", "LOC", "ORG"]
GOLD = {"Who painted the Mona Lisa ?": "HUM", "Where is Lima ?": "LOC", "How tall is K2 ?": "NUM"}


class Api:
    def __init__(self, client: AsyncClient, app: Any, kafka: str, ds: str) -> None:
        self.client, self.app, self.kafka, self.ds = client, app, kafka, ds
        self.admin: dict[str, str] = {}

    async def user(self, role: str = "annotator", name: str | None = None) -> dict[str, str]:
        name = name or f"{role}-{uuid.uuid4().hex[:6]}"
        token = await users.create(self.app.state.review.pool, name, role)
        return {"Authorization": f"Bearer {token}"}

    async def upload(self, items: list[dict[str, Any]], who: dict[str, str] | None = None) -> Any:
        body = {"items": items}
        return await self.client.post(f"/v1/gold/{self.ds}", json=body, headers=who or self.admin)

    async def claim(self, who: dict[str, str]) -> Any:
        return await self.client.post(f"/v1/queues/{self.ds}/annotator/claim", headers=who)

    async def submit(self, who: dict[str, str], task_id: str, **body: Any) -> Any:
        response = await self.client.post(f"/v1/tasks/{task_id}/submit", json=body, headers=who)
        assert response.status_code == 200, response.text
        return response.json()

    async def waiting(self) -> int:
        rows = (await self.client.get("/v1/queues", headers=self.admin)).json()["queues"]
        return sum(r["depth"] for r in rows if r["dataset"] == self.ds)


@pytest.fixture
async def api(service_env: dict[str, Any], tmp_path: Path) -> AsyncIterator[Api]:
    """Every claim draws gold while the person has gold left; small samples suffice to flag."""
    ds = f"rq-{uuid.uuid4().hex[:6]}"
    settings = Settings(
        **{
            **service_env,
            "datasets_file": with_span_dataset(
                write_datasets(tmp_path / "datasets.yaml", [ds]), f"{ds}-ner"
            ),
            "gold_rate": 1.0,
            "flag_min_reviews": 3,
            "flag_min_gold": 2,
        }
    )
    app = create_app(settings)
    async with running_app(app) as client:
        api = Api(client, app, service_env["kafka_bootstrap_servers"], ds)
        api.admin = await api.user("admin")
        yield api


def with_span_dataset(path: Path, name: str) -> Path:
    """`path`'s catalog with span dataset `name` added."""
    with path.open("a") as catalog:
        catalog.write(f"  {name}:\n    task: spans\n    labels: {SPAN_LABELS}\n")
    return path


def gold_items() -> list[dict[str, Any]]:
    return [
        {"external_id": f"g{i}", "text": text, "label": label}
        for i, (text, label) in enumerate(GOLD.items())
    ]


async def test_gold_upload_is_idempotent_admin_only_and_all_or_nothing(api: Api) -> None:
    first = await api.upload(gold_items())
    assert first.status_code == 200, first.text
    assert first.json() == {
        "dataset": api.ds,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "total": 3,
    }
    again = (await api.upload(gold_items())).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    fixed = [*gold_items()[:2], {"external_id": "g2", "text": "How tall is K2 ?", "label": "ENTY"}]
    assert (await api.upload(fixed)).json()["updated"] == 1

    bad = [{"external_id": "g9", "text": "New ?", "label": "HUM"}, *gold_items()[:1]]
    bad.append({"external_id": "g8", "text": "Odd ?", "label": "PERSON"})
    refused = await api.upload(bad)
    assert refused.status_code == 422
    assert "item 2 ('g8'): label 'PERSON' is not in the label set" in refused.json()["detail"]
    assert str(LABELS) in refused.json()["detail"]
    listed = await api.client.get(f"/v1/gold/{api.ds}", headers=api.admin)
    assert listed.json()["total"] == 3  # g9 was not stored: the upload was refused whole
    assert {i["external_id"]: i["label"] for i in listed.json()["items"]} == {
        "g0": "HUM",
        "g1": "LOC",
        "g2": "ENTY",
    }

    ann = await api.user()
    assert (await api.upload(gold_items(), ann)).status_code == 403
    assert (await api.client.get(f"/v1/gold/{api.ds}", headers=ann)).status_code == 403
    body = {"items": gold_items()}
    unknown = await api.client.post("/v1/gold/nope", json=body, headers=api.admin)
    assert unknown.status_code == 404 and "unknown dataset" in unknown.json()["detail"]
    assert (await api.upload([])).status_code == 422
    no_text = await api.upload([{"external_id": "g", "label": "HUM"}])
    assert (
        no_text.status_code == 422 and "exactly one of 'text', 'vector' or 'image'" in no_text.text
    )


async def test_gold_is_mixed_in_blind_scored_and_never_published(api: Api) -> None:
    ds = api.ds
    assert (await api.upload(gold_items())).status_code == 200
    shown = [review_request(ds, i, priority=0.9 - i / 100) for i in range(8)]
    blind = review_request(ds, "blind", priority=0.1, hide_suggestion=True)
    await publish_requests(api.kafka, [*shown, blind])

    async def all_waiting() -> bool:
        return await api.waiting() == 9

    await eventually(all_waiting)

    rubber_name, careful_name = f"rubber-{ds}", f"careful-{ds}"
    rubber, careful = await api.user(name=rubber_name), await api.user(name=careful_name)
    gold_task_ids: set[str] = set()

    async def work(
        who: dict[str, str], gold_right: int, confirm: int, ms: int, limit: int | None
    ) -> None:
        """Answer the person's three gold items (the first `gold_right` right), then up to
        `limit` shown tasks (confirm the first `confirm`, correct the rest) and blind ones."""
        golds = reviews = 0
        while (response := await api.claim(who)).status_code == 200:
            task = response.json()
            if task["suggestion"] is None and task["item_id"] != blind["item_id"]:
                assert task["reason"] == GOLD_REASON and task["priority"] == 0.5
                known = GOLD[task["content"]["text"]]
                label = known if golds < gold_right else ("DESC" if known != "DESC" else "ABBR")
                result = await api.submit(
                    who, task["task_id"], action="correct", label=label, time_spent_ms=ms
                )
                assert result["label_event_id"] is None
                gold_task_ids.add(task["task_id"])
                golds += 1
            elif task["suggestion"] is None:
                await api.submit(who, task["task_id"], action="correct", label="HUM")
            elif reviews < confirm:
                await api.submit(who, task["task_id"], action="confirm", time_spent_ms=ms)
                reviews += 1
            else:
                await api.submit(who, task["task_id"], action="correct", label="LOC")
                reviews += 1
            if reviews == limit:
                return
        assert golds == 3

    # Gold comes first (the rate is 1), and only while the queue has real work.
    await work(rubber, gold_right=1, confirm=4, ms=1000, limit=4)
    await work(careful, gold_right=3, confirm=2, ms=3000, limit=None)
    assert await api.waiting() == 0
    late = await api.user()
    assert (await api.claim(late)).status_code == 204  # gold left, but no real work to hide in

    me = (await api.client.get("/v1/me", headers=rubber)).json()
    assert (me["done_today"], me["confirmations"], me["corrections"]) == (7, 4, 3)

    report = await api.client.get("/v1/annotators", headers=api.admin)
    assert report.status_code == 200, report.text
    assert report.json()["thresholds"] == {
        "flag_confirmation_rate": 0.9,
        "flag_gold_accuracy": 0.7,
        "min_reviews": 3,
        "min_gold": 2,
    }
    rows = {r["annotator"]: r for r in report.json()["annotators"] if r["dataset"] == ds}
    assert set(rows) == {rubber_name, careful_name}
    r, c = rows[rubber_name], rows[careful_name]
    assert (r["done"], r["reviews_shown"], r["confirmations"]) == (7, 4, 4)
    assert (r["gold_answered"], r["gold_correct"], r["confirmation_rate"]) == (3, 1, 1.0)
    assert r["gold_accuracy"] == pytest.approx(1 / 3) and r["seconds_per_item"] == 1.0
    assert r["flagged"] and "confirms 100%" in r["flag_reason"]
    assert (c["confirmation_rate"], c["gold_accuracy"], c["flagged"]) == (0.5, 1.0, False)
    assert (c["spot_checks"], c["spot_check_agreements"], c["spot_check_agreement"]) == (1, 1, 1.0)
    assert c["seconds_per_item"] == 3.0 and c["role"] == "annotator"
    assert (await api.client.get("/v1/annotators", headers=careful)).status_code == 403

    def gauge(name: str, who: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"annotator": who, "dataset": ds})

    assert gauge("mitl_review_annotator_flagged", rubber_name) == 1.0
    assert gauge("mitl_review_annotator_flagged", careful_name) == 0.0
    assert gauge("mitl_review_annotator_confirmation_ratio", rubber_name) == 1.0
    assert gauge("mitl_review_annotator_gold_accuracy_ratio", careful_name) == 1.0
    assert gauge("mitl_review_annotator_spot_check_agreement_ratio", careful_name) == 1.0
    assert gauge("mitl_review_annotator_spot_check_agreement_ratio", rubber_name) is None
    assert gauge("mitl_review_annotator_task_duration_seconds", careful_name) == 3.0

    # Every review task published its label; no gold answer did.
    item_ids = {e["item_id"] for e in [*shown, blind]}
    async with TopicReader(api.kafka, topics.LABELS) as reader:
        await reader.wait_for(lambda _: len(reader.events(Label, dataset=ds)) >= 9)
        for records in (await reader.consumer.getmany(timeout_ms=1000)).values():
            reader.records.extend(records)
    labels = reader.events(Label, dataset=ds)
    assert sorted(e.item_id for e in labels) == sorted(item_ids)
    assert len(gold_task_ids) == 6


async def test_escalating_or_skipping_a_gold_item_closes_it_for_that_person(api: Api) -> None:
    ds = api.ds
    assert (await api.upload(gold_items()[:2])).status_code == 200
    await publish_requests(api.kafka, [review_request(ds, 1), review_request(ds, 2)])

    async def waiting() -> bool:
        return await api.waiting() == 2

    await eventually(waiting)
    ann = await api.user()
    first = (await api.claim(ann)).json()
    assert first["suggestion"] is None and first["content"]["text"] in GOLD
    escalated = await api.submit(ann, first["task_id"], action="escalate", comment="unsure")
    assert escalated["status"] == "escalated"
    second = (await api.claim(ann)).json()
    assert second["suggestion"] is None and second["task_id"] != first["task_id"]
    assert (await api.submit(ann, second["task_id"], action="skip"))["status"] == "skipped"
    # Both gold items are closed for this person; the expert queue got nothing.
    real = (await api.claim(ann)).json()
    assert real["item_id"].startswith(f"item-{ds}-") and real["suggestion"]["label"] == "HUM"
    rows = (await api.client.get("/v1/queues", headers=api.admin)).json()["queues"]
    expert = next(r for r in rows if (r["dataset"], r["queue"]) == (ds, "expert"))
    assert expert["depth"] == 0 and expert["leased"] == 0
    # Gold tasks are per person: someone else still gets those gold items.
    other = (await api.claim(await api.user())).json()
    assert other["content"]["text"] in GOLD and other["task_id"] not in (
        first["task_id"],
        second["task_id"],
    )


async def test_a_span_gold_item_with_no_entity_is_scored_against_the_empty_span_set(
    api: Api,
) -> None:
    ds = f"{api.ds}-ner"
    text = "nothing happened on Tuesday"
    body = {"items": [{"external_id": "none", "text": text, "label": ""}]}
    stored = await api.client.post(f"/v1/gold/{ds}", json=body, headers=api.admin)
    assert stored.status_code == 200, stored.text
    listed = (await api.client.get(f"/v1/gold/{ds}", headers=api.admin)).json()
    assert [(i["external_id"], i["label"]) for i in listed["items"]] == [("none", "")]
    # Gold is served only while there is real work to hide it in.
    await publish_requests(api.kafka, [span_request(ds, "work", [])])

    async def waiting() -> bool:
        rows = (await api.client.get("/v1/queues", headers=api.admin)).json()["queues"]
        return sum(r["depth"] for r in rows if r["dataset"] == ds) == 1

    await eventually(waiting)
    names = {"right": f"none-{ds}", "wrong": f"some-{ds}"}
    answers: dict[str, list[dict[str, Any]]] = {
        "right": [],
        "wrong": [{"start": 20, "end": 27, "label": "ORG"}],
    }
    for who, spans in answers.items():
        person = await api.user(name=names[who])
        claimed = await api.client.post(f"/v1/queues/{ds}/annotator/claim", headers=person)
        task = claimed.json()
        assert task["suggestion"] is None and task["content"]["text"] == text
        result = await api.submit(person, task["task_id"], action="correct", spans=spans)
        assert result["label_event_id"] is None
    report = (await api.client.get("/v1/annotators", headers=api.admin)).json()
    rows = {r["annotator"]: r for r in report["annotators"] if r["dataset"] == ds}
    right, wrong = rows[names["right"]], rows[names["wrong"]]
    assert (right["gold_answered"], right["gold_correct"], right["gold_accuracy"]) == (1, 1, 1.0)
    assert (wrong["gold_answered"], wrong["gold_correct"], wrong["gold_accuracy"]) == (1, 0, 0.0)
