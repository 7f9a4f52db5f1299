"""What each person did per dataset in a recent window, for core.quality."""

from __future__ import annotations

import asyncpg
from mitl_runtime.db import from_row

from mitl_review.core.quality import Counts

# Gold answers are scored against the gold table's label as it is now, so correcting a wrong
# known answer re-scores everyone. Escalated and skipped tasks are not answers.
COUNTS = """
SELECT t.completed_by AS annotator, t.dataset, coalesce(u.role, t.completed_role) AS role,
    count(*) AS done,
    count(*) FILTER (WHERE t.kind = 'review' AND NOT t.hide_suggestion) AS reviews_shown,
    count(*) FILTER (WHERE t.kind = 'review' AND NOT t.hide_suggestion
                       AND t.label = t.suggested_label) AS confirmations,
    count(*) FILTER (WHERE t.kind = 'gold') AS gold_answered,
    count(*) FILTER (WHERE t.kind = 'gold' AND t.label = g.label) AS gold_correct,
    count(*) FILTER (WHERE t.kind = 'review' AND t.hide_suggestion) AS spot_checks,
    count(*) FILTER (WHERE t.kind = 'review' AND t.hide_suggestion
                       AND t.label = t.suggested_label) AS spot_check_agreements,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY t.time_spent_ms) AS median_time_ms
FROM review.tasks AS t
LEFT JOIN review.gold AS g ON g.gold_id = t.gold_id
LEFT JOIN review.users AS u ON u.user_id = t.completed_by
WHERE t.status = 'done' AND t.completed_at >= now() - make_interval(days => $1)
  AND ($2::text IS NULL OR t.dataset = $2)
GROUP BY t.completed_by, t.dataset, coalesce(u.role, t.completed_role)
ORDER BY t.dataset, t.completed_by
"""


async def counts(pool: asyncpg.Pool, window_days: int, dataset: str | None) -> list[Counts]:
    rows = await pool.fetch(COUNTS, window_days, dataset)
    return [from_row(Counts, r) for r in rows]
