"""Agreement gauges: the report's agreement figures (core/agreement.py) over a trailing window
of human labels, for every dataset with labels there or in the catalog, refreshed on a timer.
Every replica computes the same numbers from the same rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from mitl_runtime.service import ServiceRuntime
from prometheus_client import Gauge

from mitl_audit.core.agreement import Agreement, SharedItem, agreement, entity_agreement
from mitl_audit.metrics import (
    AGREEMENT_ALPHA,
    AGREEMENT_COHEN,
    AGREEMENT_ENTITY_F1,
    AGREEMENT_FLEISS,
    AGREEMENT_ITEMS,
    AGREEMENT_LABEL_KAPPA,
)
from mitl_audit.settings import Settings
from mitl_audit.store import reports

log = logging.getLogger(__name__)

Series = tuple[Gauge, tuple[str, ...]]


def by_dataset(
    shared: list[SharedItem], datasets: list[str], span_datasets: Collection[str] = ()
) -> dict[str, Agreement]:
    """Each dataset's agreement: those of `datasets` (the catalog's) with or without items in
    common, and any other dataset that has some; for `span_datasets` also per entity."""
    grouped: dict[str, list[SharedItem]] = {name: [] for name in datasets}
    for item in shared:
        grouped.setdefault(item.dataset, []).append(item)
    figures = {name: agreement(items) for name, items in sorted(grouped.items())}
    for name in span_datasets:
        if name in figures:
            entities = entity_agreement(grouped[name])
            figures[name] = figures[name].model_copy(update={"entities": entities})
    return figures


class AgreementExporter:
    """Sets the gauges from a full computation and removes the series that it no longer
    yields (a stale value would look current): a figure that became undefined, a pair that
    fell out of the window or below the minimum."""

    def __init__(self, min_pair_items: int, max_pairs: int) -> None:
        self.min_pair_items = min_pair_items
        self.max_pairs = max_pairs
        self.exported: set[Series] = set()

    def export(self, figures: dict[str, Agreement]) -> None:
        current: dict[Series, float] = {}
        for dataset, found in figures.items():
            current[(AGREEMENT_ITEMS, (dataset,))] = float(found.items)
            if found.entities is not None and found.entities.f1 is not None:
                current[(AGREEMENT_ENTITY_F1, (dataset,))] = found.entities.f1
            if found.krippendorff_alpha is not None:
                current[(AGREEMENT_ALPHA, (dataset,))] = found.krippendorff_alpha
            if found.fleiss_kappa is not None:
                current[(AGREEMENT_FLEISS, (dataset,))] = found.fleiss_kappa
            for label, by_label in found.by_label.items():
                if by_label.fleiss_kappa is not None:
                    current[(AGREEMENT_LABEL_KAPPA, (dataset, label))] = by_label.fleiss_kappa
            pairs = [
                p
                for p in found.pairs
                if p.items >= self.min_pair_items and p.cohen_kappa is not None
            ]
            pairs.sort(key=lambda p: (-p.items, p.annotator_a, p.annotator_b))
            for pair in pairs[: self.max_pairs]:
                assert pair.cohen_kappa is not None  # filtered above
                key = (dataset, pair.annotator_a, pair.annotator_b)
                current[(AGREEMENT_COHEN, key)] = pair.cohen_kappa
        for (gauge, labels), value in current.items():
            gauge.labels(*labels).set(value)
        for gauge, labels in self.exported - set(current):
            try:
                gauge.remove(*labels)
            except KeyError:
                pass
        self.exported = set(current)


async def refresh(
    runtime: ServiceRuntime,
    settings: Settings,
    datasets: list[str],
    exporter: AgreementExporter,
    span_datasets: Collection[str] = (),
) -> None:
    since = datetime.now(UTC) - timedelta(days=settings.agreement_window_days)
    shared = await reports.shared_items(runtime.pool, None, since, None)
    exporter.export(by_dataset(shared, datasets, span_datasets))


async def run(
    runtime: ServiceRuntime,
    settings: Settings,
    datasets: list[str],
    span_datasets: Collection[str] = (),
) -> None:
    """Refresh the gauges every agreement_interval_seconds until cancelled; a failing round is
    logged and the next one tries again. `span_datasets`: the catalog's span (NER) datasets,
    whose agreement is also counted per entity."""
    exporter = AgreementExporter(settings.agreement_min_pair_items, settings.agreement_max_pairs)
    while True:
        try:
            await refresh(runtime, settings, datasets, exporter, span_datasets)
        except Exception:  # a dashboard number must not stop the service
            log.exception("refreshing the agreement gauges failed")
        await asyncio.sleep(settings.agreement_interval_seconds)
