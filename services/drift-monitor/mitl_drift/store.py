"""Drift-monitor's Postgres (schema `monitor`): windows, statistic states and seen event ids
(the alert outbox is in `outbox`). Functions taking a connection run inside the caller's
transaction."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from mitl_drift.config import DriftConfig
from mitl_drift.core import SEGMENT_ALL, MonitorState
from mitl_drift.hysteresis import AlertState
from mitl_drift.statistics import CONFIDENCE_BINS
from mitl_drift.windows import AgreementWindows, Observation, PredictionWindows


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
        "SELECT * FROM monitor.statistics"
        " WHERE dataset = $1 AND model_version = $2 AND segment = $3",
        dataset,
        model_version,
        SEGMENT_ALL,
    )
    return _state(row, statistics)


def _state(row: asyncpg.Record, statistics: Iterable[asyncpg.Record]) -> MonitorState:
    labels = tuple(row["labels"])
    recent = zip(row["recent_confidence"], row["recent_class"], row["recent_outlier"], strict=True)
    return MonitorState(
        dataset=row["dataset"],
        model_version=row["model_version"],
        labels=labels,
        predictions=PredictionWindows(
            n_classes=len(labels),
            reference_confidence=list(row["reference_confidence"]),
            reference_classes=list(row["reference_classes"]),
            reference_confidence_sum=row["reference_confidence_sum"],
            reference_outlier_sum=row["reference_outlier_sum"],
            recent=deque(Observation(c, k, o) for c, k, o in recent),
            since_evaluation=row["since_evaluation"],
        ),
        agreement=AgreementWindows(
            reference_labels=row["agreement_reference_labels"],
            reference_agreed=row["agreement_reference_agreed"],
            recent=deque(row["agreement_recent"]),
            since_evaluation=row["agreement_since_evaluation"],
        ),
        alerts={
            s["statistic"]: AlertState(
                active=s["active"],
                severity=s["severity"],
                calm=s["calm"],
                transitions=s["transitions"],
                value=s["value"],
                evaluations=s["evaluations"],
            )
            for s in statistics
        },
        predictions_seen=row["predictions_seen"],
        human_labels_seen=row["human_labels_seen"],
    )


async def claim(conn: asyncpg.Connection, stream: str, event_ids: Sequence[str]) -> set[str]:
    """Record `event_ids` as counted in `stream`; return those not counted before."""
    if not event_ids:
        return set()
    rows = await conn.fetch(
        """
        INSERT INTO monitor.seen_events (stream, event_id)
        SELECT $1, id FROM unnest($2::text[]) AS id
        ON CONFLICT (stream, event_id) DO NOTHING
        RETURNING event_id
        """,
        stream,
        list(event_ids),
    )
    return {row["event_id"] for row in rows}


async def save_monitor(conn: asyncpg.Connection, state: MonitorState, config: DriftConfig) -> None:
    """Write back the windows and statistic states of a monitor locked by `lock_monitor`."""
    windows, agreement = state.predictions, state.agreement
    await conn.execute(
        """
        UPDATE monitor.monitors SET
            reference_confidence = $3, reference_classes = $4,
            reference_confidence_sum = $5, reference_outlier_sum = $6,
            recent_confidence = $7, recent_class = $8, recent_outlier = $9,
            since_evaluation = $10,
            agreement_reference_labels = $11, agreement_reference_agreed = $12,
            agreement_recent = $13, agreement_since_evaluation = $14,
            predictions_seen = $15, human_labels_seen = $16, updated_at = now()
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
    )
    if not state.alerts:
        return
    names = sorted(state.alerts)
    alerts = [state.alerts[name] for name in names]
    await conn.execute(
        """
        INSERT INTO monitor.statistics AS s (dataset, model_version, statistic, segment, value,
            threshold, active, severity, calm, transitions, evaluations, evaluated_at, changed_at)
        SELECT $1, $2, u.statistic, $3, u.value, u.threshold, u.active, u.severity, u.calm,
            u.transitions, u.evaluations, now(), CASE WHEN u.transitions > 0 THEN now() END
        FROM unnest($4::text[], $5::float8[], $6::float8[], $7::bool[], $8::text[], $9::int[],
            $10::int[], $11::int[])
            AS u(statistic, value, threshold, active, severity, calm, transitions, evaluations)
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
        SEGMENT_ALL,
        names,
        [a.value for a in alerts],
        [config.thresholds[name] for name in names],
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
            created_at, updated_at
        FROM monitor.monitors WHERE dataset = $1 ORDER BY created_at, model_version
        """,
        dataset,
    )
