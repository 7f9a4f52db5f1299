"""The counts a report is built from, grouped in Postgres (reports never load rows one by one;
the agreement sample comes as one row per item several people labeled). The HTTP endpoint and
the CLI share `load_report`."""

from __future__ import annotations

from datetime import datetime

from mitl_audit.core import report
from mitl_audit.core.agreement import SharedItem, entity_agreement
from mitl_audit.core.counts import DecisionCount, LabelCount, SpotCheckCount
from mitl_audit.core.label_sets import LabelSetCount, per_label
from mitl_audit.core.report import Report, Window
from mitl_audit.core.span_figures import SpanCount, span_figures
from mitl_audit.store.log import Db


def window(alias: str) -> str:
    """$2 and $3 bound the window on `alias`.occurred_at: from inclusive, to exclusive, either
    open when NULL."""
    return (
        f"($2::timestamptz IS NULL OR {alias}.occurred_at >= $2)"
        f" AND ($3::timestamptz IS NULL OR {alias}.occurred_at < $3)"
    )


HUMAN = "('annotator', 'expert')"

DECISIONS = f"""
    SELECT coalesce(d.model_version, '') AS model_version,
           coalesce(d.payload->>'batch_id', '') AS batch_id, d.route,
           coalesce(d.predicted_label, '') AS predicted_label, count(*) AS count,
           coalesce(sum(d.confidence), 0)::float8 AS confidence_sum,
           coalesce(sum(d.confidence * d.confidence), 0)::float8 AS confidence_squares
    FROM audit.log d WHERE d.dataset = $1 AND d.kind = 'decision' AND {window("d")}
    GROUP BY 1, 2, 3, 4
"""

LABELS = f"""
    SELECT l.annotator, l.source, l.action, coalesce(l.is_override, false) AS is_override,
           coalesce(l.model_version, '') AS model_version,
           coalesce(l.payload->>'batch_id', '') AS batch_id,
           coalesce(l.suggested_label, '') AS predicted_label, count(*) AS count
    FROM audit.log l WHERE l.dataset = $1 AND l.kind = 'label' AND {window("l")}
    GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

# A spot check: a human label of an item whose decision (by the model version the label names)
# accepted the model's label, given blind (the decision drew a spot check, or the suggestion
# was hidden). Each (item, model version) counts once, judged by its latest such label.
SPOT_CHECKS = f"""
    SELECT model_version, batch_id, predicted_label, annotator, agreed, count(*) AS count,
           sum(residual)::float8 AS residual_sum,
           sum(residual * residual)::float8 AS residual_squares
    FROM (
        SELECT DISTINCT ON (l.item_id, d.model_version)
               coalesce(d.model_version, '') AS model_version,
               coalesce(d.payload->>'batch_id', '') AS batch_id,
               coalesce(d.predicted_label, '') AS predicted_label,
               l.annotator, l.label = d.predicted_label AS agreed,
               (l.label = d.predicted_label)::int - coalesce(d.confidence, 0) AS residual
        FROM audit.log l
        CROSS JOIN LATERAL (
            SELECT x.model_version, x.payload, x.predicted_label, x.route, x.confidence
            FROM audit.log x
            WHERE x.dataset = l.dataset AND x.item_id = l.item_id AND x.kind = 'decision'
              AND x.model_version IS NOT DISTINCT FROM l.model_version
            ORDER BY x.seq DESC LIMIT 1
        ) d
        WHERE l.dataset = $1 AND l.kind = 'label' AND l.source IN {HUMAN} AND {window("l")}
          AND d.route = 'accept'
          AND (coalesce((d.payload->>'spot_check')::boolean, false)
               OR NOT coalesce((l.payload->>'suggestion_shown')::boolean, true))
        ORDER BY l.item_id, d.model_version, l.seq DESC
    ) checks
    GROUP BY 1, 2, 3, 4, 5
"""


def shared_items_query(one_dataset: bool) -> str:
    """The agreement sample (core/agreement.py): per item labeled by two people or more, each
    one's latest label, as two arrays in person order. `one_dataset`: of dataset $1, else of
    every dataset; $2 and $3 bound the labels' time."""
    which = "l.dataset = $1" if one_dataset else "$1::text IS NULL"
    return f"""
    SELECT dataset, item_id, array_agg(annotator ORDER BY annotator) AS annotators,
           array_agg(label ORDER BY annotator) AS labels
    FROM (
        SELECT DISTINCT ON (l.dataset, l.item_id, l.annotator)
               l.dataset, l.item_id, l.annotator, l.label
        FROM audit.log l
        WHERE {which} AND l.kind = 'label' AND l.source IN {HUMAN} AND {window("l")}
          AND l.action IS DISTINCT FROM 'resolve'
          AND l.item_id IS NOT NULL AND l.annotator IS NOT NULL AND l.label IS NOT NULL
        ORDER BY l.dataset, l.item_id, l.annotator, l.seq DESC
    ) latest
    GROUP BY dataset, item_id
    HAVING count(*) >= 2
    ORDER BY dataset, item_id
"""


SHARED_OF_DATASET = shared_items_query(one_dataset=True)
SHARED_OF_ALL = shared_items_query(one_dataset=False)


async def shared_items(
    db: Db, dataset: str | None, start: datetime | None, end: datetime | None
) -> list[SharedItem]:
    """The items of `dataset` (of every dataset if None) that two people or more labeled in
    the window, with each one's latest label there."""
    query = SHARED_OF_ALL if dataset is None else SHARED_OF_DATASET
    return [
        SharedItem(r["dataset"], r["item_id"], dict(zip(r["annotators"], r["labels"], strict=True)))
        for r in await db.fetch(query, dataset, start, end)
    ]


async def decision_counts(
    db: Db, dataset: str, start: datetime | None, end: datetime | None
) -> list[DecisionCount]:
    return [DecisionCount(**dict(r)) for r in await db.fetch(DECISIONS, dataset, start, end)]


async def label_counts(
    db: Db, dataset: str, start: datetime | None, end: datetime | None
) -> list[LabelCount]:
    return [LabelCount(**dict(r)) for r in await db.fetch(LABELS, dataset, start, end)]


async def spot_check_counts(
    db: Db, dataset: str, start: datetime | None, end: datetime | None
) -> list[SpotCheckCount]:
    """Spot checks whose label falls in the window."""
    return [SpotCheckCount(**dict(r)) for r in await db.fetch(SPOT_CHECKS, dataset, start, end)]


# Multi-label human labels in the window, per label of either set: in the model's set, in the
# person's, added, removed; `verified` is how many such labels the window holds.
LABEL_SETS = f"""
    WITH sets AS (
        SELECT x.payload->'labels' AS person, x.payload->'suggested_labels' AS model
        FROM audit.log x
        WHERE x.dataset = $1 AND x.kind = 'label' AND x.source IN {HUMAN} AND {window("x")}
          AND jsonb_typeof(x.payload->'labels') = 'array'
          AND jsonb_typeof(x.payload->'suggested_labels') = 'array'
    )
    SELECT e.label, (SELECT count(*) FROM sets) AS verified,
           count(*) FILTER (WHERE s.model ? e.label) AS model_in,
           count(*) FILTER (WHERE s.person ? e.label) AS person_in,
           count(*) FILTER (WHERE s.person ? e.label AND NOT s.model ? e.label) AS added,
           count(*) FILTER (WHERE s.model ? e.label AND NOT s.person ? e.label) AS removed
    FROM sets s
    CROSS JOIN LATERAL (
        SELECT DISTINCT v AS label FROM jsonb_array_elements_text(s.person || s.model) v
    ) e
    GROUP BY e.label
"""


async def label_set_counts(
    db: Db, dataset: str, start: datetime | None, end: datetime | None
) -> list[LabelSetCount]:
    return [LabelSetCount(**dict(r)) for r in await db.fetch(LABEL_SETS, dataset, start, end)]


# Human span labels in the window (those with span changes recorded), summed: how many, how
# many overrides, and their entities suggested, final, added, removed and relabelled.
SPANS = f"""
    SELECT count(*) AS verified,
           count(*) FILTER (WHERE x.is_override) AS overrides,
           coalesce(sum(jsonb_array_length(x.payload->'suggested_spans')), 0) AS suggested,
           coalesce(sum(jsonb_array_length(x.payload->'spans')), 0) AS final,
           coalesce(sum(jsonb_array_length(x.span_changes::jsonb->'added')), 0) AS added,
           coalesce(sum(jsonb_array_length(x.span_changes::jsonb->'removed')), 0) AS removed,
           coalesce(sum(jsonb_array_length(x.span_changes::jsonb->'relabelled')), 0)
               AS relabelled
    FROM audit.log x
    WHERE x.dataset = $1 AND x.kind = 'label' AND x.source IN {HUMAN} AND {window("x")}
      AND x.span_changes IS NOT NULL
"""


async def span_count(
    db: Db, dataset: str, start: datetime | None, end: datetime | None
) -> SpanCount:
    row = await db.fetchrow(SPANS, dataset, start, end)
    assert row is not None  # an aggregate without GROUP BY returns one row
    return SpanCount(**dict(row))


async def load_report(db: Db, dataset: str, span: Window) -> Report:
    """The report over `dataset`'s rows in `span`."""
    decisions = await decision_counts(db, dataset, span.from_, span.to)
    labels = await label_counts(db, dataset, span.from_, span.to)
    checks = await spot_check_counts(db, dataset, span.from_, span.to)
    shared = await shared_items(db, dataset, span.from_, span.to)
    built = report.build(dataset, span, decisions, labels, checks, shared)
    sets = await label_set_counts(db, dataset, span.from_, span.to)
    spans = span_figures(await span_count(db, dataset, span.from_, span.to))
    update: dict[str, object] = {"per_label": per_label(sets), "spans": spans}
    if spans is not None:
        # A span dataset: its labels are span set keys, agreement also counts per entity.
        entities = entity_agreement(shared)
        update["agreement"] = built.agreement.model_copy(update={"entities": entities})
    return built.model_copy(update=update)
