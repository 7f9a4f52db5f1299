"""From stored labels and item texts to what a model is trained and evaluated on. Pure: no I/O.

Per item, the label that counts is its latest human label (annotator or expert); items without
one may contribute their latest auto-accepted label as a pseudo-label, weighted lower, when
enabled. Human-labeled items are split by `split.in_holdout`: the held-out ones only evaluate,
never train; pseudo-labeled items only train.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mitl_contracts.events import ItemContent

from mitl_trainer.core.split import in_holdout

HUMAN_SOURCES = ("annotator", "expert")
PSEUDO_SOURCES = ("model",)


@dataclass(frozen=True)
class LabelRow:
    """One stored label event; `seq` breaks ties between labels of the same time."""

    item_id: str
    label: str
    source: str
    occurred_at: datetime
    seq: int


def stored_text(content: ItemContent) -> str:
    """What the trainer keeps of an item's content: its text, its image base64-encoded, or its
    vector as JSON (mitl_trainer.training turns them back into bytes and arrays)."""
    if content.vector is not None:
        return json.dumps(content.vector)
    return content.text or content.image or ""


@dataclass(frozen=True)
class Example:
    item_id: str
    text: str
    label: str
    weight: float = 1.0

    @property
    def pseudo(self) -> bool:
        return self.weight < 1.0


@dataclass(frozen=True)
class TrainingSet:
    """`train` and `holdout` in item id order; `verified` counts human-labeled items with text
    (both sides), `without_text` those whose text the trainer has not seen."""

    train: list[Example]
    holdout: list[Example]
    verified: int
    without_text: int
    labels_until: datetime | None
    pseudo_weight: float | None = None
    class_counts: dict[str, int] = field(default_factory=dict)

    @property
    def human_train(self) -> list[Example]:
        return [e for e in self.train if not e.pseudo]

    @property
    def pseudo_train(self) -> list[Example]:
        return [e for e in self.train if e.pseudo]

    def digest(self, seed: int) -> str:
        """sha256 of everything training depends on: the examples, their weights, the held-out
        ids and the seed. Equal digests give byte-identical models."""
        lines = [f"seed\t{seed}"]
        lines += [f"train\t{e.item_id}\t{e.label}\t{e.weight!r}" for e in self.train]
        lines += [f"holdout\t{e.item_id}\t{e.label}" for e in self.holdout]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def latest(rows: Iterable[LabelRow], sources: tuple[str, ...]) -> dict[str, LabelRow]:
    """The latest label from `sources` of each item."""
    chosen: dict[str, LabelRow] = {}
    for row in rows:
        if row.source not in sources:
            continue
        best = chosen.get(row.item_id)
        if best is None or (row.occurred_at, row.seq) > (best.occurred_at, best.seq):
            chosen[row.item_id] = row
    return chosen


def build(
    dataset: str,
    rows: Iterable[LabelRow],
    texts: Mapping[str, str],
    *,
    holdout_fraction: float,
    pseudo_weight: float | None = None,
) -> TrainingSet:
    """The training set of `dataset` from its label rows and the texts of its items;
    `pseudo_weight` None leaves pseudo-labels out."""
    rows = list(rows)
    human = latest(rows, HUMAN_SOURCES)
    train: list[Example] = []
    holdout: list[Example] = []
    without_text = verified = 0
    used: list[LabelRow] = []
    for item_id in sorted(human):
        row = human[item_id]
        if item_id not in texts:
            without_text += 1
            continue
        verified += 1
        example = Example(item_id, texts[item_id], row.label)
        (holdout if in_holdout(dataset, item_id, holdout_fraction) else train).append(example)
        used.append(row)
    if pseudo_weight is not None:
        pseudo = latest(rows, PSEUDO_SOURCES)
        for item_id in sorted(set(pseudo) - set(human)):
            if item_id in texts:
                train.append(Example(item_id, texts[item_id], pseudo[item_id].label, pseudo_weight))
                used.append(pseudo[item_id])
    train.sort(key=lambda e: e.item_id)
    return TrainingSet(
        train=train,
        holdout=holdout,
        verified=verified,
        without_text=without_text,
        labels_until=max((r.occurred_at for r in used), default=None),
        pseudo_weight=pseudo_weight,
        class_counts=dict(sorted(Counter(e.label for e in train).items())),
    )
