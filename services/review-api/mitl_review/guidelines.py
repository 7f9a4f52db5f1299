"""The guidelines the datasets file declares, read when the app is made (a missing or
unreadable Markdown file refuses start-up, as a label not in the dataset does when the file is
loaded) and stored as a new version at start-up when they were edited (core/guidelines.py)."""

from __future__ import annotations

import logging

import asyncpg
from mitl_contracts.datasets import Catalog, read_guidelines_markdown

from mitl_review.core.guidelines import CONFIG_AUTHOR, GuidelineContent, from_config
from mitl_review.store import guidelines as store

log = logging.getLogger(__name__)


def configured(catalog: Catalog) -> dict[str, GuidelineContent]:
    """Each dataset's guidelines as the datasets file declares them; ValueError naming the
    dataset and file if a Markdown file cannot be read."""
    out = {}
    for name, dataset in sorted(catalog.datasets.items()):
        content = from_config(dataset, read_guidelines_markdown(dataset))
        if content is not None:
            out[name] = content
    return out


async def store_configured(pool: asyncpg.Pool, contents: dict[str, GuidelineContent]) -> None:
    """Store each dataset's configured guidelines as its next version if they changed."""
    for dataset, content in contents.items():
        stored, created = await store.store(pool, dataset, content, "config", CONFIG_AUTHOR)
        if created:
            log.info(
                "dataset %s: guidelines version %d from the datasets file", dataset, stored.version
            )
