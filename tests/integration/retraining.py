"""Driving the trainer through one retraining on the real broker: the items and the
announced champion go out first, then the labels (a label the trainer must refuse among
them); the trainer's dead letter of that label and the champion, candidate and champion
announcements are awaited and returned."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from mitl_contracts import topics
from mitl_contracts.events import ItemIngested, Label, ModelPromoted
from mitl_ml.artifacts import manifest_digest

from tests.integration.test_trainer import publish
from tests.support import TopicReader, running_app


def dead_lettered_by_trainer(record: object) -> bool:
    headers = dict(getattr(record, "headers", ()) or ())
    return headers.get("mitl-dlq-service") == b"trainer"


def announced_champion(dataset: str, version: str, bundle: Path) -> ModelPromoted:
    """The announcement of `bundle` as `dataset`'s champion, as inference makes it."""
    return ModelPromoted(
        dataset=dataset,
        model_version=version,
        status="champion",
        bundle_uri=bundle.resolve().as_uri(),
        artifact_sha256=manifest_digest(bundle),
    )


async def retrain(
    app: FastAPI,
    kafka: str,
    champion: ModelPromoted,
    items: list[ItemIngested],
    labels: list[Label],
    refused: Label | None = None,
    timeout: float = 180,
) -> tuple[str | None, list[ModelPromoted]]:
    """Run the trainer (`app`) through a retraining of `champion.dataset`: the reason it
    dead-lettered `refused` (None without one), and the dataset's announcements once there
    are three (the champion, the candidate, the candidate promoted)."""
    dataset = champion.dataset
    mine = [refused] if refused is not None else []

    def refusal(records: list) -> object | None:
        return next(
            (
                r
                for r in records
                if any(e.event_id.encode() in r.value for e in mine) and dead_lettered_by_trainer(r)
            ),
            None,
        )

    record = None
    async with running_app(app):
        await publish(kafka, topics.ITEMS_INGESTED, list(items))
        await publish(kafka, topics.MODELS, [champion])
        async with (
            TopicReader(kafka, topics.MODELS) as models,
            TopicReader(kafka, topics.dlq(topics.LABELS)) as dlq,
        ):
            await publish(kafka, topics.LABELS, [*mine, *labels])
            if mine:
                record = refusal(
                    await dlq.wait_for(lambda recs: refusal(recs) is not None, timeout=60)
                )
            announced = lambda _: len(models.events(ModelPromoted, dataset=dataset)) >= 3  # noqa: E731
            await models.wait_for(announced, timeout=timeout)
    reason = None
    if record is not None:
        reason = dict(getattr(record, "headers", ()))["mitl-dlq-reason"].decode()
    return reason, models.events(ModelPromoted, dataset=dataset)
