"""A real shift through the real drift monitor (broker and Postgres): TREC-6 questions scored by
the bootstrap MiniLM model, then SMS messages, with embedding sketches as inference fills them.
Quiet on the questions; embedding and class alerts published once the messages arrive."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mitl_contracts import topics
from mitl_contracts.events import DriftAlert, ItemContent, Prediction
from mitl_drift.app import create_app
from mitl_drift.settings import Settings
from mitl_ml.bootstrap import bootstrap_splits
from mitl_ml.datasets import load_sms_spam
from mitl_ml.runtime import load_model
from mitl_ml.sketch import sketch

from tests.support import TopicReader, eventually, publish_raw, running_app

pytestmark = pytest.mark.integration
QUESTIONS, MESSAGES = 300, 100


def predictions(bundle: Path, texts: list[str], run: str, first: int) -> list[bytes]:
    """Predictions of `texts` by the model at `bundle`, as inference publishes them."""
    model = load_model(bundle)
    out = model.predict(texts)
    assert out.embeddings is not None
    sketches = sketch(out.embeddings)
    events = []
    for i, text in enumerate(texts):
        n = first + i
        events.append(
            Prediction(
                event_id=f"prediction-{run}-{n}",
                dataset="trec6",
                item_id=f"{run}-{n}",
                content=ItemContent(text=text),
                model_version=f"shift-{run}",
                labels=model.labels,
                probabilities=[float(p) for p in out.probabilities[i]],
                outlier_score=float(out.outlier_scores[i]),
                embedding_sketch=[float(v) for v in sketches[i]],
            )
            .model_dump_json()
            .encode()
        )
    return events


async def test_switching_from_questions_to_text_messages_alerts(
    service_env: dict, bootstrap_model: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    version = f"shift-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    questions = bootstrap_splits("trec6", 300, 0).pool.texts()[:QUESTIONS]
    messages = load_sms_spam().texts()[:MESSAGES]
    before = predictions(bootstrap_model, questions, run, 0)
    after = predictions(bootstrap_model, messages, run, QUESTIONS)
    # Default thresholds; small windows so that a few hundred items fill them.
    settings = Settings(**service_env, reference_size=200, window_size=100, evaluate_every=20)
    async with running_app(create_app(settings)) as client:

        async def monitor(at_least: int) -> dict | None:
            body = (await client.get("/v1/drift/trec6")).json()
            found = [v for v in body["model_versions"] if v["model_version"] == version]
            return found[0] if found and found[0]["predictions_seen"] >= at_least else None

        await publish_raw(kafka, topics.PREDICTIONS, before, key=version.encode())
        state = await eventually(lambda: monitor(QUESTIONS), timeout=60)
        assert state["active_alerts"] == []
        assert (state["sketch_dim"], state["reference_sketches"]) == (16, 200)
        values = {(s["statistic"], s["segment"]): s["value"] for s in state["statistics"]}
        assert values[("embedding_shift", "all")] < settings.embedding_shift_alert

        await publish_raw(kafka, topics.PREDICTIONS, after, key=version.encode())
        async with TopicReader(kafka, topics.DRIFT) as drift:

            def raised(statistic: str, segment: str = "all") -> bool:
                return bool(
                    drift.events(
                        DriftAlert, model_version=version, statistic=statistic, segment=segment
                    )
                )

            await drift.wait_for(
                lambda _: raised("embedding_shift") and raised("class_share_shift", "class:DESC"),
                timeout=60,
            )
        embedding = drift.events(DriftAlert, model_version=version, statistic="embedding_shift")[0]
        assert embedding.state == "alert" and embedding.value > embedding.threshold == 0.2
        assert embedding.details["reference_sketches"] == 200
        desc = drift.events(DriftAlert, model_version=version, segment="class:DESC")[0]
        assert desc.details["direction"] == "up" and desc.details["class"] == "DESC"
        # Nothing was raised before the switch: every alert came with the messages.
        assert {e.state for e in drift.events(DriftAlert, model_version=version)} == {"alert"}
        state = await eventually(lambda: monitor(QUESTIONS + MESSAGES), timeout=30)
        assert "embedding_shift" in state["active_alerts"]
        assert "class_share_shift@class:DESC" in state["active_alerts"]
        metrics = (await client.get("/metrics")).text
        assert (
            f'mitl_drift_alert_severity{{dataset="trec6",model_version="{version}",'
            'segment="class:DESC",statistic="class_share_shift"}' in metrics
        )
