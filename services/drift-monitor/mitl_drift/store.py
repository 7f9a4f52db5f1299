"""Drift-monitor's Postgres (schema `monitor`): windows, statistic states and seen event ids
(the alert outbox is in `outbox`). Functions taking a connection run inside the caller's
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from mitl_runtime import bulk

from mitl_drift.config import DriftConfig
from mitl_drift.core import MonitorState
from mitl_drift.rows import flat_sketches, monitor_state
from mitl_drift.statistics import CONFIDENCE_BINS


async def lock_monitor(
    conn: asyncpg.Connection, dataset: str, model_version: str, labels: Sequence[str]
) -> MonitorState:
    """The monitor of (dataset, model_version), created with `labels` if new, locked until the
    transaction ends so that replicas count into it one at a time."""
    await conn.execute(
        """
        INSERT INTO monitor.monitors
            (dataset, model_version, labels, reference_confidence, reference_classes)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (dataset, model_version) DO NOTHING
        """,
        dataset,
        model_version,
        list(labels),
        [0] * CONFIDENCE_BINS,
        [0] * len(labels),
    )
    row = await conn.fetchrow(
        "SELECT * FROM monitor.monitors WHERE dataset = $1 AND model_version = $2 FOR UPDATE",
        dataset,
        model_version,
    )
    statistics = await conn.fetch(
        "SELECT * FROM monitor.statistics WHERE dataset = $1 AND model_version = $2",
        dataset,
        model_version,
    )
    return monitor_state(row, statistics)


async def claim(conn: asyncpg.Connection, stream: str, event_ids: Sequence[str]) -> set[str]:
    """Record `event_ids` as counted in `stream`; return those not counted before."""
    if not event_ids:
        return set()
    sql, args = bulk.bulk_insert(
        "monitor.seen_events",
        {"stream": "text", "event_id": "text"},
        [(stream, event_id) for event_id in event_ids],
        on_conflict="(stream, event_id) DO NOTHING",
        returning="event_id",
    )
    rows = await conn.fetch(sql, *args)
    return {row["event_id"] for row in rows}


async def save_monitor(conn: asyncpg.Connection, state: MonitorState, config: DriftConfig) -> None:
    """Write back the windows and statistic states of a monitor locked by `lock_monitor`."""
    windows, agreement, spot = state.predictions, state.agreement, state.spot_checks
    await conn.execute(
        """
        UPDATE monitor.monitors SET
            reference_confidence = $3, reference_classes = $4,
            reference_confidence_sum = $5, reference_outlier_sum = $6,
            recent_confidence = $7, recent_class = $8, recent_outlier = $9,
            since_evaluation = $10,
            agreement_reference_labels = $11, agreement_reference_agreed = $12,
            agreement_recent = $13, agreement_since_evaluation = $14,
            predictions_seen = $15, human_labels_seen = $16,
            sketch_dim = $17, reference_sketch_count = $18, reference_sketch_sum = $19,
            reference_sketch_sumsq = $20, recent_sketch = $21,
            spot_reference_labels = $22, spot_reference_agreed = $23, spot_recent = $24,
            spot_since_evaluation = $25, spot_checks_seen = $26, updated_at = now()
        WHERE dataset = $1 AND model_version = $2
        """,
        state.dataset,
        state.model_version,
        windows.reference_confidence,
        windows.reference_classes,
        windows.reference_confidence_sum,
        windows.reference_outlier_sum,
        [o.confidence for o in windows.recent],
        [o.class_index for o in windows.recent],
        [o.outlier for o in windows.recent],
        windows.since_evaluation,
        agreement.reference_labels,
        agreement.reference_agreed,
        list(agreement.recent),
        agreement.since_evaluation,
        state.predictions_seen,
        state.human_labels_seen,
        windows.sketch_dim,
        windows.reference_sketch_count,
        windows.reference_sketch_sum,
        windows.reference_sketch_sumsq,
        flat_sketches(windows.recent, windows.sketch_dim),
        spot.reference_labels,
        spot.reference_agreed,
        list(spot.recent),
        spot.since_evaluation,
        state.spot_checks_seen,
    )
    if not state.alerts:
        return
    keys = sorted(state.alerts)
    alerts = [state.alerts[key] for key in keys]
    await conn.execute(
        """
        INSERT INTO monitor.statistics AS s (dataset, model_version, statistic, segment, value,
            threshold, active, severity, calm, transitions, evaluations, evaluated_at, changed_at)
        SELECT $1, $2, u.statistic, u.segment, u.value, u.threshold, u.active, u.severity,
            u.calm, u.transitions, u.evaluations, now(),
            CASE WHEN u.transitions > 0 THEN now() END
        FROM unnest($3::text[], $4::text[], $5::float8[], $6::float8[], $7::bool[], $8::text[],
            $9::int[], $10::int[], $11::int[])
            AS u(statistic, segment, value, threshold, active, severity, calm, transitions,
                evaluations)
        ON CONFLICT (dataset, model_version, statistic, segment) DO UPDATE SET
            value = EXCLUDED.value, threshold = EXCLUDED.threshold, active = EXCLUDED.active,
            severity = EXCLUDED.severity, calm = EXCLUDED.calm,
            evaluated_at = CASE WHEN s.evaluations <> EXCLUDED.evaluations
                THEN now() ELSE s.evaluated_at END,
            changed_at = CASE WHEN s.transitions <> EXCLUDED.transitions
                THEN now() ELSE s.changed_at END,
            transitions = EXCLUDED.transitions, evaluations = EXCLUDED.evaluations
        """,
        state.dataset,
        state.model_version,
        [statistic for statistic, _ in keys],
        [segment for _, segment in keys],
        [a.value for a in alerts],
        [config.thresholds[statistic] for statistic, _ in keys],
        [a.active for a in alerts],
        [a.severity for a in alerts],
        [a.calm for a in alerts],
        [a.transitions for a in alerts],
        [a.evaluations for a in alerts],
    )


async def prune_seen(pool: asyncpg.Pool, retention_hours: float) -> int:
    """Forget event ids counted longer ago than the retention; return how many."""
    status = await pool.execute(
        "DELETE FROM monitor.seen_events WHERE seen_at < now() - make_interval(secs => $1)",
        retention_hours * 3600.0,
    )
    return int(status.split()[-1])


async def statistics(pool: asyncpg.Pool, datasets: Sequence[str] | None = None) -> list[Any]:
    """Statistic rows of `datasets` (all when None), for metrics and reports."""
    return await pool.fetch(
        "SELECT * FROM monitor.statistics WHERE $1::text[] IS NULL OR dataset = ANY($1::text[])"
        " ORDER BY dataset, model_version, statistic, segment",
        list(datasets) if datasets is not None else None,
    )


async def monitors(pool: asyncpg.Pool, dataset: str) -> list[Any]:
    """The monitors of `dataset`, without their window contents."""
    return await pool.fetch(
        """
        SELECT dataset, model_version, labels, predictions_seen, human_labels_seen,
            reference_classes, cardinality(recent_class) AS recent_size,
            agreement_reference_labels, cardinality(agreement_recent) AS agreement_recent_size,
            spot_checks_seen, spot_reference_labels, cardinality(spot_recent) AS spot_recent_size,
            sketch_dim, reference_sketch_count, created_at, updated_at
        FROM monitor.monitors WHERE dataset = $1 ORDER BY created_at, model_version
        """,
        dataset,
    )
