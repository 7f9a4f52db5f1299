"""The loop for a span (NER) dataset, every service its own process, over the real broker and
Postgres: tweets in over HTTP; the spaCy pre-labeler suggests entity spans with confidences;
the router sends the items to people with the suggested spans; an annotator corrects one item's
spans (adds an entity and relabels another); the audit log holds the override with its span
changes; the export gives the item in CoNLL BIO, spaCy JSON and Label Studio JSON, each with
its provenance."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from mitl_cli.stack import LocalStack
from mitl_ml.bootstrap_spans import build_span_bootstrap

from tests.e2e.test_loop import create_user
from tests.support import wait_until

pytestmark = pytest.mark.e2e
LABELS = ["person", "geo-loc", "company", "product"]
TEXTS = [
    "Barack Obama flew to Paris on Monday",
    "Angela Merkel met Emmanuel Macron in Berlin",
    "Tim Cook spoke in London about the new iPhone",
    "Serena Williams won again in New York",
    "Taylor Swift is touring Australia next year",
    "Elon Musk visited Tokyo and Seoul",
]


@pytest.fixture(scope="module")
def span_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = tmp_path_factory.mktemp("span-config")
    datasets = config / "datasets.yaml"
    datasets.write_text(
        "datasets:\n"
        "  tweets:\n"
        "    task: spans\n"
        f"    labels: {json.dumps(LABELS)}\n"
        "    entity_map: {PERSON: person, GPE: geo-loc, LOC: geo-loc, ORG: company,\n"
        "                 PRODUCT: product}\n"
        f"    model: {config / 'tweets-spacy'}\n"
        "    policy:\n"
        "      version: e2e-spans-v1\n"
        "      accept_threshold: 0.999\n"
        "      escalation_floor: 0.0\n"
        "      spot_check_rate: 0.0\n"
        "      escalate_on_model_change: false\n"
    )
    build_span_bootstrap(config / "tweets-spacy", "tweets", datasets, evaluate=0)
    with LocalStack(
        workdir=tmp_path_factory.mktemp("span-stack"),
        datasets_file=datasets,
        database=f"mitl_e2e_spans_{uuid.uuid4().hex[:8]}",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
    ) as running:
        yield running


def test_span_items_flow_to_review_audit_and_every_span_export(span_stack: LocalStack) -> None:
    stack = span_stack
    items = [{"external_id": f"tweet-{n}", "text": text} for n, text in enumerate(TEXTS)]
    response = httpx.post(
        f"{stack.url('ingest')}/v1/items",
        json={"dataset": "tweets", "items": items},
        headers=stack.ingest_headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(TEXTS)

    def report() -> dict | None:
        summary = httpx.get(
            f"{stack.url('audit')}/v1/reports/tweets", headers=stack.auditor_headers, timeout=10
        ).json()
        return summary if summary["decisions"]["total"] >= len(TEXTS) else None

    routes = wait_until(report, timeout=180)["decisions"]
    # spaCy is 0.999 sure of every span and that none is missing for some of these texts
    # only: the rest go to people with the suggested spans.
    assert routes["total"] == len(TEXTS) and routes["review"] >= 1
    assert routes["accept"] + routes["review"] == len(TEXTS)

    token = create_user(stack, f"ada-{uuid.uuid4().hex[:6]}", "annotator")
    auth = {"Authorization": f"Bearer {token}"}
    claim = httpx.post(f"{stack.url('review-api')}/v1/queues/tweets/annotator/claim", headers=auth)
    assert claim.status_code == 200, claim.text
    task = claim.json()
    text = task["content"]["text"]
    assert task["spans"] is True and text in TEXTS
    suggested = task["suggestion"]["spans"]
    assert suggested, "spaCy finds at least one entity in each of these texts"
    assert all(0.0 <= s["confidence"] <= 1.0 and s["label"] in LABELS for s in suggested)
    assert 0.0 <= task["suggestion"]["spans_complete"] <= 1.0

    # The person relabels the first suggested span and adds the last word as a product.
    first = suggested[0]
    relabelled = next(label for label in LABELS if label != first["label"])
    last_word = text.rsplit(" ", 1)[1]
    added = {"start": len(text) - len(last_word), "end": len(text), "label": "product"}
    final = [{"start": first["start"], "end": first["end"], "label": relabelled}]
    final += [
        {"start": s["start"], "end": s["end"], "label": s["label"]}
        for s in suggested[1:]
        if s["end"] <= added["start"]
    ]
    final.append(added)
    submit = httpx.post(
        f"{stack.url('review-api')}/v1/tasks/{task['task_id']}/submit",
        headers=auth,
        json={"action": "correct", "spans": final, "time_spent_ms": 3100},
    )
    assert submit.status_code == 200, submit.text
    bad = httpx.post(
        f"{stack.url('review-api')}/v1/tasks/{task['task_id']}/submit",
        headers=auth,
        json={"action": "correct", "spans": [{"start": 0, "end": 999, "label": "person"}]},
    )
    assert bad.status_code in (409, 422), bad.text

    def override() -> dict | None:
        rows = httpx.get(
            f"{stack.url('audit')}/v1/overrides/tweets", headers=stack.auditor_headers, timeout=10
        ).json()
        return next((r for r in rows["overrides"] if r["item_id"] == task["item_id"]), None)

    row = wait_until(override, timeout=60)
    assert row["suggested_label"] != row["label"]

    def exported(fmt: str) -> httpx.Response | None:
        answer = httpx.get(
            f"{stack.url('audit')}/v1/export/tweets",
            params={"format": fmt},
            headers=stack.auditor_headers,
            timeout=30,
        )
        return answer if answer.status_code == 200 and task["item_id"] in answer.text else None

    conll = wait_until(lambda: exported("conll"), timeout=60).text
    block = conll.split(f"item_id={task['item_id']}", 1)[1].split("\n\n", 1)[0]
    assert "B-product" in block and f"B-{relabelled}" in block
    assert "source=annotator" in conll.split(f"item_id={task['item_id']}", 1)[1][:400]

    docs = wait_until(lambda: exported("spacy"), timeout=30).json()
    [doc] = [d for d in docs if d["mitl"]["item_id"] == task["item_id"]]
    assert doc["text"] == text
    assert [(e["start"], e["end"], e["label"]) for e in doc["ents"]] == [
        (s["start"], s["end"], s["label"]) for s in final
    ]

    ls_tasks = wait_until(lambda: exported("labelstudio"), timeout=30).json()
    [ls_task] = [t for t in ls_tasks if t["data"]["item_id"] == task["item_id"]]
    values = [r["value"] for r in ls_task["annotations"][0]["result"]]
    assert (values[-1]["text"], values[-1]["labels"]) == (last_word, ["product"])
    assert len(ls_task["predictions"][0]["result"]) == len(suggested)
