"""The loop for a span (NER) dataset, every service its own process, over the real broker and
Postgres: tweets in over HTTP; the spaCy pre-labeler suggests entity spans with confidences;
the router sends the items to people with the suggested spans; an annotator corrects one item's
spans (adds an entity and relabels another); the audit log holds the override with its span
changes; the export gives the item in CoNLL BIO, spaCy JSON and Label Studio JSON, each with
its provenance."""

from __future__ import annotations

import pytest
from mitl_cli.stack import LocalStack

from tests.e2e.loop import (
    SPAN_LABELS as LABELS,
)
from tests.e2e.loop import (
    annotator,
    claim,
    exported,
    ingest,
    override,
    routed,
    submit,
)

pytestmark = pytest.mark.e2e
TEXTS = [
    "Barack Obama flew to Paris on Monday",
    "Angela Merkel met Emmanuel Macron in Berlin",
    "Tim Cook spoke in London about the new iPhone",
    "Serena Williams won again in New York",
    "Taylor Swift is touring Australia next year",
    "Elon Musk visited Tokyo and Seoul",
]


def test_span_items_flow_to_review_audit_and_every_span_export(task_stack: LocalStack) -> None:
    stack = task_stack
    items = [{"external_id": f"tweet-{n}", "text": text} for n, text in enumerate(TEXTS)]
    assert ingest(stack, "tweets", items)["accepted"] == len(TEXTS)

    routes = routed(stack, "tweets", len(TEXTS))
    # spaCy is 0.999 sure of every span and that none is missing for some of these texts
    # only: the rest go to people with the suggested spans.
    assert routes["total"] == len(TEXTS) and routes["review"] >= 1
    assert routes["accept"] + routes["review"] == len(TEXTS)

    auth = annotator(stack)
    task = claim(stack, "tweets", auth)
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
    body = {"action": "correct", "spans": final, "time_spent_ms": 3100}
    done = submit(stack, task["task_id"], auth, body)
    assert done.status_code == 200, done.text
    too_long = {"action": "correct", "spans": [{"start": 0, "end": 999, "label": "person"}]}
    bad = submit(stack, task["task_id"], auth, too_long)
    assert bad.status_code in (409, 422), bad.text

    row = override(stack, "tweets", task["item_id"])
    assert row["suggested_label"] != row["label"]

    conll = exported(stack, "tweets", "conll", task["item_id"]).text
    block = conll.split(f"item_id={task['item_id']}", 1)[1].split("\n\n", 1)[0]
    assert "B-product" in block and f"B-{relabelled}" in block
    assert "source=annotator" in conll.split(f"item_id={task['item_id']}", 1)[1][:400]

    docs = exported(stack, "tweets", "spacy", task["item_id"]).json()
    [doc] = [d for d in docs if d["mitl"]["item_id"] == task["item_id"]]
    assert doc["text"] == text
    assert [(e["start"], e["end"], e["label"]) for e in doc["ents"]] == [
        (s["start"], s["end"], s["label"]) for s in final
    ]

    ls_tasks = exported(stack, "tweets", "labelstudio", task["item_id"]).json()
    [ls_task] = [t for t in ls_tasks if t["data"]["item_id"] == task["item_id"]]
    values = [r["value"] for r in ls_task["annotations"][0]["result"]]
    assert (values[-1]["text"], values[-1]["labels"]) == (last_word, ["product"])
    assert len(ls_task["predictions"][0]["result"]) == len(suggested)
