"""Working off retraining requests, one at a time per replica, in the background: the consumers
only record requests, so a long training never holds up consumption.

For a request: gather the dataset's verified labels (and pseudo-labels if enabled) with their
texts; if there are too few, finish it as skipped with the reason, logged and counted; if the
same data trained a model before, as unchanged; else train a candidate off the event loop,
compare it with the champion on the held-out items, store its bundle by digest, and in one
transaction record the model and queue ModelPromoted (candidate, then champion if it won).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import asyncpg
from mitl_contracts.datasets import Catalog, Dataset
from mitl_contracts.events import ModelPromoted
from mitl_ml.artifacts import ArtifactStore, bundle_path
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import read_manifest
from mitl_ml.quantize import default_encoder
from mitl_runtime.service import ServiceRuntime

from mitl_trainer import outbox
from mitl_trainer.core import schedule
from mitl_trainer.core.training_set import TrainingSet, build
from mitl_trainer.metrics import HOLDOUT_ACCURACY, RUNS, TRAINING_SECONDS
from mitl_trainer.settings import Settings
from mitl_trainer.store import learned, retraining

if TYPE_CHECKING:
    from mitl_trainer.training import Champion

log = logging.getLogger(__name__)


def promotion_event_id(dataset: str, version: str, status: str) -> str:
    return f"trainer-{dataset}-{version}-{status}"


async def training_set(pool: asyncpg.Pool, dataset: str, settings: Settings) -> TrainingSet:
    """The dataset's training set as the stored labels and texts make it now."""
    rows = await learned.label_rows(pool, dataset, settings.use_pseudo_labels)
    texts = await learned.texts(pool, dataset, sorted({r.item_id for r in rows}))
    return build(
        dataset,
        rows,
        texts,
        holdout_fraction=settings.holdout_fraction,
        pseudo_weight=settings.pseudo_label_weight if settings.use_pseudo_labels else None,
    )


def readiness(dataset: Dataset, training: TrainingSet, settings: Settings) -> schedule.Readiness:
    """Whether the training set can train (schedule.readiness); a span dataset's classes are
    its entity labels, counted in entities, a multi-label dataset's its labels, counted in
    items holding each."""
    from mitl_trainer import training as trainers  # first use (see Worker.run)

    kind = trainers.kind_for(dataset, settings.model_kind)
    return schedule.readiness(
        training.verified,
        trainers.class_counts(kind, training),
        dataset.labels,
        min_labels=settings.min_labels,
        min_per_class=settings.min_per_class,
        dataset=dataset.name,
    )


@dataclass
class Worker:
    runtime: ServiceRuntime
    catalog: Catalog
    settings: Settings
    wake: asyncio.Event
    artifacts: ArtifactStore = field(init=False)
    _encoder: MiniLMEncoder | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.artifacts = ArtifactStore(self.settings.artifact_dir)

    async def run_forever(self) -> None:
        while True:
            try:
                await outbox.publish_pending(self.runtime)
                while (
                    request := await retraining.claim_request(
                        self.runtime.pool, self.settings.lease_s, self.settings.max_attempts
                    )
                ) is not None:
                    await self.work(request)
            except Exception:  # transient (database, broker): the next round tries again
                log.exception("trainer worker round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.poll_interval_s)
            self.wake.clear()

    async def work(self, request: asyncpg.Record) -> None:
        request_id, dataset = request["request_id"], request["dataset"]
        try:
            outcome, reason, version = await self.train(request)
        except Exception as error:  # the request failed; others go on
            log.exception("dataset %s: request %s failed", dataset, request_id)
            outcome, reason, version = "failed", f"{type(error).__name__}: {error}", None
            await retraining.finish_request(self.runtime.pool, request_id, outcome, reason)
        if outcome == "waiting":  # looked at again later (content_retry_s): not worked off yet
            log.debug("dataset %s: request %s %s", dataset, request_id, reason)
            return
        RUNS.labels(dataset, outcome).inc()
        log.info("dataset %s: request %s %s: %s", dataset, request_id, outcome, reason)
        if version is not None:
            await outbox.publish_pending(self.runtime)

    async def train(self, request: asyncpg.Record) -> tuple[str, str, str | None]:
        """(outcome, reason, version) of the request, recorded as done; outcome "waiting":
        put back as pending, its labeled items' content not all there yet."""
        # Imported on first use, not at start-up: training brings scikit-learn, skl2onnx and
        # the span tagger (~2.5 s of CPU), which a trainer with nothing to train never needs.
        from mitl_trainer import training as trainers

        pool, settings = self.runtime.pool, self.settings
        request_id, name = request["request_id"], request["dataset"]
        dataset = self.catalog.get(name)
        training = await training_set(pool, name, settings)
        ready = readiness(dataset, training, settings)
        if not ready.ready:
            missing, wait = training.without_text, settings.content_wait_s
            if schedule.waits_for_content(missing, request["age_s"], wait):
                reason = f"{ready.reason}; waiting for the content of {missing} labeled items"
                retry = schedule.content_retry_s(settings.poll_interval_s, wait)
                await retraining.defer_request(pool, request_id, retry, reason)
                return "waiting", reason, None
            log.warning("dataset %s: no training: %s", name, ready.reason)
            await retraining.finish_request(pool, request_id, "skipped", ready.reason)
            return "skipped", ready.reason, None
        kind = trainers.kind_for(dataset, settings.model_kind)
        rules = trainers.Rules.of(settings, kind, dataset)
        version = trainers.version_for(name, training.digest(settings.seed), kind, rules.pooling)
        if await retraining.model_exists(pool, name, version):
            reason = f"the same labels trained {version} before"
            await retraining.finish_request(pool, request_id, "unchanged", reason, version)
            return "unchanged", reason, None
        champion = await self.champion(name)
        provenance = {
            "request": request_id,
            "trigger": request["trigger"],
            "trigger_ref": request["trigger_ref"],
        }
        started = time.perf_counter()
        encoder = await asyncio.to_thread(self.encoder)
        candidate = await asyncio.to_thread(
            trainers.train_candidate, dataset, training, champion, rules, encoder, provenance
        )
        digest, path = await asyncio.to_thread(
            trainers.store_candidate, candidate, self.artifacts, encoder
        )
        TRAINING_SECONDS.observe(time.perf_counter() - started)
        metrics = candidate.manifest.metrics
        score = f"holdout_{trainers.score_metric(kind)}"
        HOLDOUT_ACCURACY.labels(name, "candidate").set(metrics.get(score, 0.0))
        if f"champion_{score}" in metrics:
            HOLDOUT_ACCURACY.labels(name, "champion").set(metrics[f"champion_{score}"])
        uri = self.artifacts.uri(digest)
        statuses: list[Literal["candidate", "champion"]] = ["candidate"]
        if candidate.verdict.promote:
            statuses.append("champion")
        events = [
            ModelPromoted(
                event_id=promotion_event_id(name, version, status),
                dataset=name,
                model_version=version,
                status=status,
                artifact_sha256=digest,
                bundle_uri=uri,
            )
            for status in statuses
        ]
        outcome = statuses[-1]
        async with pool.acquire() as conn, conn.transaction():
            await retraining.add_model(
                conn,
                {
                    "dataset": name,
                    "model_version": version,
                    "request_id": request_id,
                    "artifact_sha256": digest,
                    "bundle_uri": uri,
                    "promoted": candidate.verdict.promote,
                    "metrics": json.dumps(metrics),
                    "training": json.dumps(candidate.manifest.training, default=str),
                },
            )
            await outbox.queue(conn, events)
            await retraining.finish_request(
                conn, request_id, outcome, candidate.verdict.reason, version
            )
        log.info("dataset %s: %s stored at %s", name, version, path)
        return outcome, candidate.verdict.reason, version

    async def champion(self, dataset: str) -> Champion | None:
        """The champion as the last announcement says, else the catalog's model (the one
        inference serves first), else none."""
        from mitl_trainer.training import Champion

        row = await learned.champion(self.runtime.pool, dataset)
        if row is not None:
            return Champion(
                row["model_version"], bundle_path(row["bundle_uri"]), row["artifact_sha256"]
            )
        bundle = self.catalog.get(dataset).model
        if bundle is None:
            return None
        manifest = await asyncio.to_thread(read_manifest, bundle)
        return Champion(manifest.version, bundle)

    def encoder(self) -> MiniLMEncoder:
        """One MiniLM session for every training and evaluation (created on first use): the
        default encoder (int8 when it holds accuracy, mitl_ml.quantize), so text candidates
        (minilm-int8-logreg, hybrid-logreg, hybrid-ovr-onnx) carry it; the span tagger alone
        runs on the shipped one."""
        if self._encoder is None:
            self._encoder = default_encoder(intra_op_threads=self.settings.intra_op_threads)
        return self._encoder
