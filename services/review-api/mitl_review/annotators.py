"""Annotator quality: computed from the database on demand (GET /v1/annotators) and exported
as gauges periodically. Every replica computes the same numbers from the same rows, so
dashboards can take any one of them (max by annotator and dataset)."""

from __future__ import annotations

import asyncpg
from prometheus_client import Gauge

from mitl_review import metrics
from mitl_review.core.quality import Quality, Thresholds, assess
from mitl_review.settings import Settings
from mitl_review.store import quality as store

GAUGES: tuple[Gauge, ...] = (
    metrics.ANNOTATOR_CONFIRMATION_RATE,
    metrics.ANNOTATOR_GOLD_ACCURACY,
    metrics.ANNOTATOR_SPOT_CHECK_AGREEMENT,
    metrics.ANNOTATOR_SECONDS_PER_ITEM,
    metrics.ANNOTATOR_TASKS_DONE,
    metrics.ANNOTATOR_FLAGGED,
)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        flag_confirmation_rate=settings.flag_confirmation_rate,
        flag_gold_accuracy=settings.flag_gold_accuracy,
        min_reviews=settings.flag_min_reviews,
        min_gold=settings.flag_min_gold,
    )


async def assess_all(
    pool: asyncpg.Pool, settings: Settings, dataset: str | None = None
) -> list[Quality]:
    limits = thresholds(settings)
    counts = await store.counts(pool, settings.quality_window_days, dataset)
    return [assess(c, limits) for c in counts]


class QualityExporter:
    """Sets the annotator gauges from a full assessment, and removes the series of people who
    no longer have anything in the window (a stale value would look current)."""

    def __init__(self) -> None:
        self.exported: set[tuple[str, str]] = set()

    def export(self, qualities: list[Quality]) -> None:
        current: set[tuple[str, str]] = set()
        for q in qualities:
            key = (q.counts.annotator, q.counts.dataset)
            current.add(key)
            values = (
                q.confirmation_rate,
                q.gold_accuracy,
                q.spot_check_agreement,
                q.seconds_per_item,
                float(q.counts.done),
                float(q.flagged),
            )
            for gauge, value in zip(GAUGES, values, strict=True):
                if value is None:
                    # No answers of that kind is not a rate of 0: no sample at all.
                    _remove(gauge, key)
                else:
                    gauge.labels(*key).set(value)
        for key in self.exported - current:
            for gauge in GAUGES:
                _remove(gauge, key)
        self.exported = current


def _remove(gauge: Gauge, key: tuple[str, str]) -> None:
    try:
        gauge.remove(*key)
    except KeyError:
        pass
