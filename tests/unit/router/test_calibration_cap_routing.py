"""The router's pure batch step caps calibration reviews at raised rates at the unspent budget:
reviews already queued (read from the store) and the batch's own count, across the batch's
model versions of one dataset."""

from __future__ import annotations

from datetime import UTC, datetime

from mitl_contracts.datasets import Catalog, Dataset, Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_policy.calibration import calibration_draw
from mitl_policy.core import CALIBRATION_PRIORITY
from mitl_router.core import BatchContext, DriftState, route_batch

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = Policy(
    version="cap-v1", target_precision=0.95, escalation_floor=0.0, min_accept_threshold=0.5,
    calibration_rate=0.01, calibration_max_rate=0.5, calibration_budget=60,
    calibration_queue_cap=True,
)  # fmt: skip
CATALOG = Catalog(datasets={"d": Dataset(name="d", labels=["a", "b"], policy=POLICY)})


def predictions(version: str, n: int) -> list[Prediction]:
    return [
        Prediction(
            event_id=f"p-{version}-{i}", dataset="d", item_id=f"i{i}",
            content=ItemContent(text=f"text {i}"), model_version=version, labels=["a", "b"],
            probabilities=[0.9, 0.1] if i % 2 else [0.2, 0.8],
        )
        for i in range(n)
    ]  # fmt: skip


def context(versions: list[str], queued: dict[str, dict[str, int]]) -> BatchContext:
    return BatchContext(
        now=NOW, drift=DriftState(), learned={("d", v): None for v in versions},
        earlier={("d", v): {} for v in versions}, calibration_queued=queued,
    )  # fmt: skip


def calibration_reviews(batch_reviews: list) -> int:  # type: ignore[type-arg]
    return sum(r.priority >= CALIBRATION_PRIORITY for r in batch_reviews)


def test_a_batch_queues_calibration_reviews_up_to_the_unspent_budget() -> None:
    batch = predictions("m1", 400)
    drawn = sum(calibration_draw(p.item_id, "m1") < 0.5 for p in batch)
    assert drawn > 150
    routed = route_batch(batch, CATALOG, context(["m1"], {"d": {"": 0}}))
    assert calibration_reviews(routed.reviews) == 60
    capped = [d for d in routed.decisions if d.thresholds.get("calibration_rate") == 0.0]
    assert len(capped) == drawn - 60
    # 50 already queued: 10 more; without a count (the cap cannot bind) every draw is queued.
    routed = route_batch(batch, CATALOG, context(["m1"], {"d": {"": 50}}))
    assert calibration_reviews(routed.reviews) == 10
    routed = route_batch(batch, CATALOG, context(["m1"], {}))
    assert calibration_reviews(routed.reviews) == drawn


def test_the_batch_s_model_versions_share_the_dataset_s_budget() -> None:
    batch = predictions("m1", 100) + predictions("m2", 100)
    ctx = context(["m1", "m2"], {"d": {"": 0}})
    routed = route_batch(batch, CATALOG, ctx)
    by_version = {v: sum(r.priority >= CALIBRATION_PRIORITY and r.model_version == v
                         for r in routed.reviews) for v in ("m1", "m2")}  # fmt: skip
    assert by_version["m1"] == 60 - by_version["m2"] and by_version["m1"] > by_version["m2"]
    assert ctx.calibration_queued == {"d": {"": 60}}
