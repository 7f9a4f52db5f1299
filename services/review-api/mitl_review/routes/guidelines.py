"""A dataset's annotation guidelines: the latest version, every version, and (admins) a new
version. Versions are never changed; each human label records the one it was made under."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from mitl_review.context import Context
from mitl_review.core import guidelines as rules
from mitl_review.core.auth import check_admin, check_dataset
from mitl_review.core.errors import NotFound
from mitl_review.routes.deps import ContextDep, UserDep
from mitl_review.schemas import (
    GuidelineChanges,
    GuidelinesStored,
    GuidelinesUpdate,
    GuidelinesView,
    GuidelineVersions,
    GuidelineVersionSummary,
    LabelDefinitionView,
)
from mitl_review.store import guidelines as store

router = APIRouter(prefix="/v1/datasets", tags=["guidelines"])
# Versions are Postgres integers.
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]


def view(ctx: Context, stored: store.Version) -> GuidelinesView:
    labels = ctx.catalog.get(stored.dataset).labels
    return GuidelinesView(
        dataset=stored.dataset,
        version=stored.version,
        markdown=stored.content.markdown,
        labels=[
            LabelDefinitionView(label=label, description=d.description, examples=list(d.examples))
            for label, d in stored.content.ordered(labels)
        ],
        content_sha256=stored.content_sha256,
        source=stored.source,
        created_by=stored.created_by,
        created_at=stored.created_at,
    )


def no_guidelines(dataset: str) -> NotFound:
    return NotFound(
        f"dataset {dataset!r} has no guidelines yet: declare them in the datasets file "
        "(guidelines: file, labels) or PUT them"
    )


@router.get("/{dataset}/guidelines", response_model=GuidelinesView)
async def latest(dataset: str, ctx: ContextDep, user: UserDep) -> GuidelinesView:
    """The latest version: the Markdown, and each described label's description and
    examples in the order keys 1..N pick them. 404 while the dataset has none."""
    ctx.catalog.get(dataset)
    check_dataset(user, dataset)
    stored = await store.latest(ctx.pool, dataset)
    if stored is None:
        raise no_guidelines(dataset)
    return view(ctx, stored)


@router.get("/{dataset}/guidelines/versions", response_model=GuidelineVersions)
async def versions(dataset: str, ctx: ContextDep, user: UserDep) -> GuidelineVersions:
    """Every version, newest first, each with who made it and what it changed."""
    ctx.catalog.get(dataset)
    check_dataset(user, dataset)
    stored = await store.versions(ctx.pool, dataset)
    summaries = []
    before = None
    for v in stored:
        summaries.append(
            GuidelineVersionSummary(
                version=v.version,
                content_sha256=v.content_sha256,
                source=v.source,
                created_by=v.created_by,
                created_at=v.created_at,
                changes=GuidelineChanges.of(rules.changes(before, v.content)),
            )
        )
        before = v.content
    return GuidelineVersions(
        dataset=dataset,
        latest=stored[-1].version if stored else None,
        versions=summaries[::-1],
    )


@router.get("/{dataset}/guidelines/versions/{number}", response_model=GuidelinesView)
async def version(
    dataset: str, number: VersionNumber, ctx: ContextDep, user: UserDep
) -> GuidelinesView:
    """One version as it was made."""
    ctx.catalog.get(dataset)
    check_dataset(user, dataset)
    stored = await store.version(ctx.pool, dataset, number)
    if stored is None:
        raise NotFound(f"dataset {dataset!r} has no guideline version {number}")
    return view(ctx, stored)


@router.put("/{dataset}/guidelines", response_model=GuidelinesStored)
async def replace(
    dataset: str, body: GuidelinesUpdate, ctx: ContextDep, caller: UserDep
) -> GuidelinesStored:
    """Store new guidelines as the next version (admins). The body is the whole content:
    `markdown` and `labels` ({label: {description, examples}}). A label the dataset does not
    have is refused with 422 naming it. The same content as the latest version adds nothing
    (`created: false`). Labels submitted from now on record the new version."""
    check_admin(caller)
    content = rules.checked(ctx.catalog.get(dataset), body.markdown, body.labels)
    stored, created = await store.store(ctx.pool, dataset, content, "api", caller.id)
    return GuidelinesStored(**view(ctx, stored).model_dump(), created=created)
