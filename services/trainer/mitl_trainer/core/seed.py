"""A dataset's first model from a file of labeled items (or a folder of labeled images): the
records, checked, as the training set the trainer trains every later version from. Pure: no I/O.

A dataset declared without a `model:` has nothing to score its items with, so nothing reaches
people and no label ever comes. A team starting one labels a seed set elsewhere (a spreadsheet,
an export of another tool) and builds the first model from it (`mitl bootstrap`); from then on
the trainer retrains from the labels people give in review.

Each record's label is read from a column of the file (the readers keep every column that is
not the content or the id as metadata):
- single-label: one of the dataset's labels;
- multi-label: labels joined by `|`, or a JSON array of labels (`[]` or an empty cell: none);
- spans: a JSON array of `{"start", "end", "label"}` objects over the item's text, or
  `start:end:label` parts joined by `|` (a Label Studio annotation as `mitl import` reads it).
A record whose label does not fit is left out with the reason, and the others are used. The
item ids are the ones ingest gives (mitl_contracts.ids), so the held-out share is the same items
the trainer holds out once the same items are ingested and labeled in review.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from mitl_contracts.datasets import Dataset
from mitl_contracts.events import LABEL_SET_SEPARATOR, ItemContent, label_set_key
from mitl_contracts.ids import item_id_for
from mitl_contracts.spans import Span, check_spans, spans_key, spans_of_key, trimmed
from mitl_ml import images
from pydantic import TypeAdapter, ValidationError

from mitl_trainer.core.split import in_holdout
from mitl_trainer.core.training_set import Example, TrainingSet, stored_text

SPANS = TypeAdapter(list[Span])


@dataclass(frozen=True)
class SeedRecord:
    """One record of the file, as read: where it is, its content and its label cell."""

    line: int
    external_id: str
    text: str | None
    vector: list[float] | None
    label: str | None
    # An image's bytes base64-encoded, as the events carry them.
    image: str | None = None


@dataclass
class Seed:
    """The training set a seed file gives, and the records left out with why."""

    training: TrainingSet
    left_out: list[tuple[int, str]] = field(default_factory=list)


def label_of(dataset: Dataset, cell: str, text: str | None) -> str:
    """The stored label (as the trainer keeps human labels) of a label cell; ValueError
    naming the fault."""
    if dataset.task == "spans":
        spans = _spans(cell)
        spans = trimmed(spans, text or "")
        check_spans(
            spans,
            text_length=len(text or ""),
            labels=dataset.labels,
            allow_overlap=dataset.allow_overlap,
        )
        return spans_key(spans)
    if dataset.task == "multilabel":
        labels = _label_list(cell)
        unknown = sorted(set(labels) - set(dataset.labels))
        if unknown:
            raise ValueError(f"label(s) {', '.join(map(repr, unknown))} not in the dataset")
        return label_set_key(labels)
    label = cell.strip()
    if label not in dataset.labels:
        raise ValueError(
            f"label {label!r} is not one of the dataset's: {', '.join(dataset.labels)}"
        )
    return label


def _spans(cell: str) -> list[Span]:
    """A span cell: a JSON array of {start, end, label}, or `start:end:label` parts joined by
    '|' (how a Label Studio annotation is read, and mitl's own span key)."""
    text = cell.strip()
    if not text.startswith("["):
        return spans_of_key(text)
    try:
        return SPANS.validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(
            f"spans must be a JSON array of {{start, end, label}} ({where}: {first['msg']})"
        ) from None


def _label_list(cell: str) -> list[str]:
    text = cell.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"not a JSON array of labels: {error.msg}") from None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise ValueError("a JSON array of labels holds strings only")
        return [x.strip() for x in parsed if x.strip()]
    return [x.strip() for x in text.split(LABEL_SET_SEPARATOR) if x.strip()]


def stored_content(dataset: Dataset, record: SeedRecord) -> str:
    """What the trainer stores of an item (the text; a vector as its JSON list; an image
    base64-encoded); ValueError when the record's content does not fit the dataset (as
    ingest would refuse it: an image must decode, within the dataset's limits)."""
    try:
        content = ItemContent(text=record.text, vector=record.vector, image=record.image)
    except ValidationError as error:
        raise ValueError(error.errors()[0]["msg"]) from None
    dataset.check_content(content)
    if (data := content.image_data) is not None:
        images.check(data, dataset.max_image_side)
    return stored_text(content)


def seed_set(
    dataset: Dataset,
    records: Iterable[SeedRecord],
    *,
    holdout_fraction: float,
    label_column: str,
) -> Seed:
    """The seed's training set: every record that fits, split as the trainer splits (by item
    id); the same item twice counts once (its last label)."""
    left_out: list[tuple[int, str]] = []
    chosen: dict[str, Example] = {}
    for record in records:
        # Multi-label: an empty cell is dropped by the readers; "[]" says "none of them".
        if record.label is None or (dataset.task != "multilabel" and not record.label.strip()):
            left_out.append((record.line, f"no label in column {label_column!r}"))
            continue
        try:
            content = stored_content(dataset, record)
            label = label_of(dataset, record.label, record.text)
        except ValueError as error:
            left_out.append((record.line, str(error)))
            continue
        item_id = item_id_for(dataset.name, record.external_id)
        chosen[item_id] = Example(item_id, content, label)
    train: list[Example] = []
    holdout: list[Example] = []
    for item_id in sorted(chosen):
        side = holdout if in_holdout(dataset.name, item_id, holdout_fraction) else train
        side.append(chosen[item_id])
    training = TrainingSet(
        train=train,
        holdout=holdout,
        verified=len(chosen),
        without_text=0,
        labels_until=None,
        class_counts=dict(sorted(Counter(e.label for e in train).items())),
    )
    return Seed(training, left_out)
