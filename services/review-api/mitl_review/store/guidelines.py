"""Guideline versions in Postgres (migrations/006): added under a per-dataset lock, never
changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import asyncpg

from mitl_review.core.guidelines import (
    GuidelineContent,
    GuidelineSource,
    labels_from_json,
    makes_version,
)

LOCK = "mitl-review-guidelines"
# labels as text: asyncpg hands jsonb over as text anyway, and json.loads reads it once.
COLUMNS = (
    "dataset, version, markdown, labels::text AS labels, content_sha256, source, created_by, "
    "created_at"
)


@dataclass(frozen=True)
class Version:
    dataset: str
    version: int
    content: GuidelineContent
    content_sha256: str
    source: GuidelineSource
    created_by: str
    created_at: datetime


def version_from_row(row: asyncpg.Record) -> Version:
    return Version(
        dataset=row["dataset"],
        version=row["version"],
        content=GuidelineContent(row["markdown"], labels_from_json(row["labels"])),
        content_sha256=row["content_sha256"],
        source=cast(GuidelineSource, row["source"]),  # the column CHECK admits only these
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def store(
    pool: asyncpg.Pool,
    dataset: str,
    content: GuidelineContent,
    source: GuidelineSource,
    created_by: str,
) -> tuple[Version, bool]:
    """Add `content` as the dataset's next version unless `core.guidelines.makes_version`
    says it is known; returns the version that is now the latest and whether it was added.
    Replicas starting together add one version, not one each (the lock)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", LOCK, dataset
        )
        latest = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM review.guidelines WHERE dataset = $1 "
            "ORDER BY version DESC LIMIT 1",
            dataset,
        )
        latest_config = await conn.fetchval(
            "SELECT content_sha256 FROM review.guidelines WHERE dataset = $1 "
            "AND source = 'config' ORDER BY version DESC LIMIT 1",
            dataset,
        )
        latest_sha = latest["content_sha256"] if latest else None
        if latest is not None and not makes_version(content, source, latest_sha, latest_config):
            return version_from_row(latest), False
        row = await conn.fetchrow(
            f"""
            INSERT INTO review.guidelines
                (dataset, version, markdown, labels, content_sha256, source, created_by)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
            RETURNING {COLUMNS}
            """,
            dataset,
            (latest["version"] if latest else 0) + 1,
            content.markdown,
            content.labels_json(),
            content.sha256,
            source,
            created_by,
        )
    return version_from_row(row), True


async def latest(pool: asyncpg.Pool, dataset: str) -> Version | None:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM review.guidelines WHERE dataset = $1 ORDER BY version DESC LIMIT 1",
        dataset,
    )
    return version_from_row(row) if row else None


async def version(pool: asyncpg.Pool, dataset: str, number: int) -> Version | None:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM review.guidelines WHERE dataset = $1 AND version = $2",
        dataset,
        number,
    )
    return version_from_row(row) if row else None


async def versions(pool: asyncpg.Pool, dataset: str) -> list[Version]:
    """Every version of the dataset, oldest first."""
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM review.guidelines WHERE dataset = $1 ORDER BY version", dataset
    )
    return [version_from_row(r) for r in rows]
