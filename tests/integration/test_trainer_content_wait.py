"""Labels that reach the trainer before their items: the retraining request they make waits
for the items' content (pending, with what it waits for) instead of ending as skipped, and
trains once the items arrive. The two topics are consumed apart, so on a busy stream the
labels of the newest items can well come first."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from mitl_contracts import topics
from mitl_contracts.events import ModelPromoted

from tests.integration.retraining import announced_champion
from tests.integration.test_trainer import (
    publish,
    question_events,
    question_trainer,
    questions,
    retrain_status_when,
)
from tests.support import ADMIN, TopicReader, running_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "trainer"))
from mitl_trainer.app import create_app

pytestmark = pytest.mark.integration
EVERY = 150


async def test_labels_before_their_items_wait_for_them_then_train(
    service_env: dict, bootstrap_model: Path, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    dataset, champion = f"trainer-wait-{run}", f"boot-{run}"
    kafka = service_env["kafka_bootstrap_servers"]
    settings = question_trainer(
        service_env, bootstrap_model, tmp_path, dataset, retrain_every=EVERY, content_wait_s=100
    )
    items, labels = question_events(run, dataset, champion, questions()[:EVERY])
    announced = announced_champion(dataset, champion, bootstrap_model)
    async with running_app(create_app(settings), ADMIN) as client:

        async def status_when(check: Callable[[dict], object]) -> dict:
            return await retrain_status_when(client, dataset, check)

        await publish(kafka, topics.MODELS, [announced])
        await publish(kafka, topics.LABELS, labels)
        # The request is made at 150 labels and looked at (again every 10 s, a tenth of the
        # wait), but none of its items has content yet: it waits, pending, and says for what.
        waiting = await status_when(
            lambda s: (
                s["requests"]
                and s["requests"][0]["status"] == "pending"
                and "waiting for the content" in (s["requests"][0]["reason"] or "")
            )
        )
        (request,) = waiting["requests"]
        assert (request["request_id"], request["status"]) == (
            f"labels-{dataset}-{EVERY}",
            "pending",
        )
        assert request["outcome"] is None and request["attempts"] == 0
        assert f"waiting for the content of {EVERY} labeled items" in request["reason"]
        assert "has 0 verified labels with text" in request["reason"]
        assert waiting["models"] == []

        async with TopicReader(kafka, topics.MODELS) as models:
            await publish(kafka, topics.ITEMS_INGESTED, items)
            await models.wait_for(
                lambda _: len(models.events(ModelPromoted, dataset=dataset)) >= 3, timeout=180
            )
        done = await status_when(lambda s: s["requests"][0]["status"] == "done")

    statuses = [e.status for e in models.events(ModelPromoted, dataset=dataset)]
    assert statuses == ["champion", "candidate", "champion"]
    (request,) = done["requests"]
    assert (request["outcome"], request["attempts"]) == ("champion", 1)
    (made,) = done["models"]
    assert made["promoted"] and made["request_id"] == f"labels-{dataset}-{EVERY}"
