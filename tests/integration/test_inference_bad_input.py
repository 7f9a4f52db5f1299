"""Bad input against the real broker: empty text, bytes that are not UTF-8, vectors of the
wrong length or with NaN/infinity are dead-lettered with their reason; text longer than the
model takes is truncated, not rejected; and the service keeps serving text and vectors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from mitl_contracts import topics
from mitl_contracts.events import Prediction
from mitl_inference.app import create_app
from mitl_inference.settings import Settings
from mitl_ml.bootstrap import build_bootstrap

from tests.support import TopicReader, publish_raw, running_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, bootstrap_model: Path) -> Path:
    """trec6 on the MiniLM bootstrap model and digits on a vector classifier."""
    directory = tmp_path_factory.mktemp("bad-input")
    digits = directory / "digits-model"
    build_bootstrap(digits, dataset="digits", kind="vector", seed_size=200, seed=0)
    path = directory / "datasets.yaml"
    path.write_text(
        f"""
datasets:
  trec6:
    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]
    max_text_chars: 5000
    model: {bootstrap_model}
  digits:
    input_kind: vector
    vector_dim: 64
    labels: {json.dumps([str(d) for d in range(10)])}
    model: {digits}
"""
    )
    return path


def ingested(run: str, name: str, dataset: str, content: str) -> bytes:
    """A raw mitl.items.ingested.v1 record; `content` is spliced in as JSON text."""
    head = (
        f'{{"event_id": "ing-{run}-{name}", "dataset": "{dataset}", "item_id": "{run}-{name}", '
        f'"external_id": "{name}", "batch_id": "{run}", "content": '
    )
    return head.encode() + content.encode() + b"}"


async def test_bad_items_are_dead_lettered_with_reasons_and_service_keeps_serving(
    service_env: dict[str, object], catalog: Path, tmp_path: Path
) -> None:
    kafka = str(service_env["kafka_bootstrap_servers"])
    settings = Settings(**(service_env | {"datasets_file": catalog, "artifact_dir": tmp_path}))
    run = uuid.uuid4().hex[:8]
    vector = [float(i % 16) for i in range(64)]
    long_text = "What is " + " and ".join(["the meaning of this long question"] * 40) + " ?"
    bad = {
        "empty": ingested(run, "empty", "trec6", '{"text": ""}'),
        "blank": ingested(run, "blank", "trec6", '{"text": "   "}'),
        "utf8": ingested(run, "utf8", "trec6", '{"text": "caf') + b'\xe9 \xff"}}',
        "short": ingested(run, "short", "digits", json.dumps({"vector": vector[:10]})),
        "nan": ingested(run, "nan", "digits", '{"vector": [NaN' + ", 1.0" * 63 + "]}"),
        "inf": ingested(run, "inf", "digits", '{"vector": [Infinity' + ", 1.0" * 63 + "]}"),
    }
    good = [
        ingested(run, "text", "trec6", json.dumps({"text": "Who wrote Hamlet ?"})),
        ingested(run, "long", "trec6", json.dumps({"text": long_text})),
        ingested(run, "vector", "digits", json.dumps({"vector": vector})),
    ]
    async with running_app(create_app(settings)) as client:
        await publish_raw(kafka, topics.ITEMS_INGESTED, list(bad.values()))
        await publish_raw(kafka, topics.ITEMS_INGESTED, good)
        async with TopicReader(kafka, topics.dlq(topics.ITEMS_INGESTED)) as dlq:
            await dlq.wait_for(lambda recs: sum(run.encode() in r.value for r in recs) >= len(bad))
        async with TopicReader(kafka, topics.PREDICTIONS) as predictions:
            await predictions.wait_for(
                lambda _: (
                    len([p for p in predictions.events(Prediction) if p.batch_id == run])
                    >= len(good)
                )
            )
        assert (await client.get("/healthz")).json()["status"] == "ok"

    reasons = {
        name: dict(r.headers)["mitl-dlq-reason"].decode()
        for r in dlq.records
        for name, value in bad.items()
        if r.value == value
    }
    assert "'text' is empty" in reasons["empty"] and "'text' is empty" in reasons["blank"]
    assert "not a valid ItemIngested" in reasons["utf8"]
    assert "invalid unicode code point" in reasons["utf8"]
    assert "vector has 10 values; dataset 'digits' takes 64" in reasons["short"]
    assert "'vector' holds NaN or infinity" in reasons["nan"]
    assert "'vector' holds NaN or infinity" in reasons["inf"]
    scored = {p.item_id: p for p in predictions.events(Prediction) if p.batch_id == run}
    assert set(scored) == {f"{run}-text", f"{run}-long", f"{run}-vector"}
    assert scored[f"{run}-long"].truncated and not scored[f"{run}-text"].truncated
    assert scored[f"{run}-vector"].labels == [str(d) for d in range(10)]
    assert scored[f"{run}-vector"].model_version == "digits-vector-bootstrap-s0"
