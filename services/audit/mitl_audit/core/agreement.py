"""The report's inter-annotator agreement section, from the human labels of items several
people labeled. Pure: no I/O; the statistics are mitl_policy.agreement's.

Which labels count: human labels (annotator or expert) that name who gave them, except an
expert's resolution of an escalation (action `resolve`), which is given knowing the item was
disputed and is not an independent label. Per item and person the latest label counts. Items
with labels from two people or more are the agreement sample: in practice the dataset's
overlap items (policy `overlap_rate`), plus any item labeled again by someone else (a new
request for it after its first label).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from mitl_contracts.spans import spans_of_key
from mitl_policy.agreement import Summary, summarize
from pydantic import BaseModel, Field

PAIR_SEPARATOR = "/"


@dataclass(frozen=True)
class SharedItem:
    """One item of the agreement sample: each person's latest label of it."""

    dataset: str
    item_id: str
    labels: dict[str, str]


class AnnotatorPair(BaseModel):
    """Cohen's kappa of two people over the items both labeled."""

    annotator_a: str
    annotator_b: str
    items: int = Field(description="items both labeled")
    observed_agreement: float | None = Field(
        default=None, description="share of those items they labeled alike"
    )
    cohen_kappa: float | None = None


class LabelAgreement(BaseModel):
    """One label's part in the agreement sample."""

    labels: int = Field(description="labels of this class given to items of the sample")
    share: float | None = Field(default=None, description="labels / all labels of the sample")
    fleiss_kappa: float | None = Field(
        default=None, description="Fleiss' category kappa (on the items Fleiss' kappa used)"
    )
    specific_agreement: float | None = Field(
        default=None,
        description="when one person chose this label, the share of the others' labels of "
        "the item that are the same",
    )


class Agreement(BaseModel):
    """How far people labeling the same items agree. Figures are None without an item two
    people labeled, or when undefined (every label the same class: nothing to tell apart)."""

    items: int = Field(default=0, description="items labeled by two people or more")
    labels: int = Field(default=0, description="their labels, one per person and item")
    annotators: int = Field(default=0, description="people who labeled one of them")
    observed_agreement: float | None = Field(
        default=None,
        description="share of the pairs of labels of one item that agree, each item weighing "
        "as many labels as it has (1 - Krippendorff's observed disagreement)",
    )
    krippendorff_alpha: float | None = Field(
        default=None, description="nominal, over every item of the sample"
    )
    fleiss_kappa: float | None = Field(
        default=None, description="over the fleiss_items items with fleiss_raters labels each"
    )
    fleiss_items: int = 0
    fleiss_raters: int = 0
    pairs: list[AnnotatorPair] = Field(default_factory=list)
    by_label: dict[str, LabelAgreement] = Field(default_factory=dict)
    # Span datasets: agreement counted per entity (entity_agreement); None for other tasks.
    entities: EntityAgreement | None = None


class EntityPair(BaseModel):
    """Two people's entity-level agreement over the span items both labeled."""

    annotator_a: str
    annotator_b: str
    items: int
    entities_a: int
    entities_b: int
    matched: int = Field(description="entities both marked with the same offsets and label")
    f1: float | None = Field(default=None, description="2 matched / (entities_a + entities_b)")


class EntityAgreement(BaseModel):
    """Span items: how far people agree entity by entity (an entity agrees when another
    person marked the same characters with the same label), over every pair of people on
    every shared item."""

    pair_items: int = Field(description="(item, pair of people) combinations compared")
    entities: int = Field(description="entities marked, summed over both sides of each pair")
    matched: int = Field(description="entities matched, counted once per pair")
    f1: float | None = Field(default=None, description="2 matched / entities")
    pairs: list[EntityPair] = Field(default_factory=list)


def entity_agreement(shared: Iterable[SharedItem]) -> EntityAgreement:
    """Entity-level agreement of span items, whose labels are span set keys
    (mitl_contracts.spans.spans_key)."""
    by_pair: dict[tuple[str, str], list[int]] = {}
    for item in shared:
        sets = {person: {s.key for s in spans_of_key(key)} for person, key in item.labels.items()}
        for a, b in combinations(sorted(sets), 2):
            counts = by_pair.setdefault((a, b), [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += len(sets[a])
            counts[2] += len(sets[b])
            counts[3] += len(sets[a] & sets[b])
    pairs = [
        EntityPair(
            annotator_a=a,
            annotator_b=b,
            items=n,
            entities_a=ea,
            entities_b=eb,
            matched=m,
            f1=2 * m / (ea + eb) if ea + eb else None,
        )
        for (a, b), (n, ea, eb, m) in sorted(by_pair.items())
    ]
    entities = sum(p.entities_a + p.entities_b for p in pairs)
    matched = sum(p.matched for p in pairs)
    return EntityAgreement(
        pair_items=sum(p.items for p in pairs),
        entities=entities,
        matched=matched,
        f1=2 * matched / entities if entities else None,
        pairs=pairs,
    )


def ratings(shared: Iterable[SharedItem]) -> dict[str, dict[str, str]]:
    return {item.item_id: dict(item.labels) for item in shared}


def agreement(shared: Iterable[SharedItem]) -> Agreement:
    """The agreement section over `shared` (items of one dataset)."""
    return from_summary(summarize(ratings(shared)))


def from_summary(summary: Summary) -> Agreement:
    alpha, fleiss = summary.alpha, summary.fleiss
    people = {name for pair in summary.pairs for name in pair}
    observed = None
    if alpha.observed_disagreement is not None:
        observed = 1.0 - alpha.observed_disagreement
    return Agreement(
        items=summary.items,
        labels=summary.labels,
        annotators=len(people),
        observed_agreement=observed,
        krippendorff_alpha=alpha.alpha,
        fleiss_kappa=fleiss.kappa,
        fleiss_items=fleiss.items,
        fleiss_raters=fleiss.raters,
        pairs=[
            AnnotatorPair(
                annotator_a=a,
                annotator_b=b,
                items=pair.items,
                observed_agreement=pair.observed,
                cohen_kappa=pair.kappa,
            )
            for (a, b), pair in summary.pairs.items()
        ],
        by_label={
            label: LabelAgreement(
                labels=n,
                share=n / summary.labels if summary.labels else None,
                fleiss_kappa=fleiss.by_category.get(label),
                specific_agreement=summary.specific.get(label),
            )
            for label, n in summary.label_counts.items()
        },
    )


def pair_key(pair: AnnotatorPair) -> str:
    """How a pair is named in the CSV: `a/b` (names never hold a slash)."""
    return f"{pair.annotator_a}{PAIR_SEPARATOR}{pair.annotator_b}"
