"""Annotation guidelines, versioned: what a dataset's labels mean and how to choose between them.

A version is the whole content (the Markdown and each label's description and examples),
identified by a sha256 of its canonical form, so that storing the same content twice is
recognised and only a real edit makes a new version. Versions come from the datasets file
(at start-up) or from an admin's PUT; each human label records the version in force when it
was submitted. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mitl_contracts.datasets import Dataset, LabelGuide, check_guideline_labels

from mitl_review.core.errors import Unprocessable

GuidelineSource = Literal["config", "api"]
# Who a version read from the datasets file is recorded as created by.
CONFIG_AUTHOR = "datasets file"


@dataclass(frozen=True)
class LabelDefinition:
    description: str = ""
    examples: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.description and not self.examples


@dataclass(frozen=True)
class GuidelineContent:
    """One version's content. `labels` holds only labels that say something, keyed by label:
    a label described with nothing is the same as a label not described."""

    markdown: str
    labels: Mapping[str, LabelDefinition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kept = {k: v for k, v in self.labels.items() if not v.empty}
        object.__setattr__(self, "labels", kept)

    def labels_dict(self) -> dict[str, dict[str, object]]:
        """`labels` as JSON values: {label: {"description", "examples"}} (as stored)."""
        return {
            label: {"description": d.description, "examples": list(d.examples)}
            for label, d in self.labels.items()
        }

    def labels_json(self) -> str:
        return json.dumps(self.labels_dict(), ensure_ascii=False)

    def canonical(self) -> str:
        """The content as JSON text that is the same however it was written (key order)."""
        return json.dumps(
            {"markdown": self.markdown, "labels": self.labels_dict()},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def ordered(self, dataset_labels: Iterable[str]) -> list[tuple[str, LabelDefinition]]:
        """The described labels in the dataset's label order (the order keys 1..N pick), then
        any described label the dataset no longer has, by name."""
        order = {label: i for i, label in enumerate(dataset_labels)}
        return sorted(self.labels.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def definitions(labels: Mapping[str, LabelGuide]) -> dict[str, LabelDefinition]:
    return {
        label: LabelDefinition(guide.description, tuple(guide.examples))
        for label, guide in labels.items()
    }


def labels_from_json(text: str) -> dict[str, LabelDefinition]:
    """The stored `labels` column (`labels_dict` as JSON) back into definitions."""
    raw = json.loads(text)
    return {
        label: LabelDefinition(d.get("description", ""), tuple(d.get("examples", ())))
        for label, d in raw.items()
    }


def from_config(dataset: Dataset, markdown: str) -> GuidelineContent | None:
    """The guidelines the datasets file declares for `dataset` (its Markdown read by the
    caller), or None if it declares none."""
    if dataset.guidelines is None:
        return None
    return GuidelineContent(markdown, definitions(dataset.guidelines.labels))


def checked(dataset: Dataset, markdown: str, labels: Mapping[str, LabelGuide]) -> GuidelineContent:
    """Guidelines submitted for `dataset`; Unprocessable (422) naming every described label
    the dataset does not have, or the first text Postgres could not store as it is."""
    try:
        check_guideline_labels(dataset.name, dataset.labels, labels)
    except ValueError as error:
        raise Unprocessable(str(error)) from None
    texts = [("markdown", markdown)]
    for label, guide in labels.items():
        texts.append((f"labels.{label}.description", guide.description))
        texts += [(f"labels.{label}.examples[{i}]", e) for i, e in enumerate(guide.examples)]
    for where, text in texts:
        if problem := unstorable(text):
            raise Unprocessable(f"{where}: {problem}")
    return GuidelineContent(markdown, definitions(labels))


def unstorable(text: str) -> str | None:
    """Why Postgres text could not hold `text` unchanged, or None. (A lone surrogate never
    gets here: the body's model refuses it.)"""
    if "\x00" in text:
        return "contains a NUL character (U+0000), not allowed"
    return None


def makes_version(
    content: GuidelineContent,
    source: GuidelineSource,
    latest_sha256: str | None,
    latest_config_sha256: str | None,
) -> bool:
    """Whether storing `content` adds a version. An admin's PUT does unless it is the latest
    content. The datasets file, read at every start-up, does only when it was edited since it
    was last stored: not when it is what the file gave last time (a restart must not undo an
    admin's later PUT), nor when it is the latest content anyway."""
    known = {latest_sha256}
    if source == "config":
        known.add(latest_config_sha256)
    return content.sha256 not in known


@dataclass(frozen=True)
class Changes:
    """What a version changed from the one before it (the first version adds every label)."""

    markdown: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


def changes(before: GuidelineContent | None, after: GuidelineContent) -> Changes:
    if before is None:
        return Changes(markdown=bool(after.markdown), added=tuple(sorted(after.labels)))
    old, new = before.labels, after.labels
    return Changes(
        markdown=before.markdown != after.markdown,
        added=tuple(sorted(set(new) - set(old))),
        removed=tuple(sorted(set(old) - set(new))),
        changed=tuple(sorted(k for k in set(old) & set(new) if old[k] != new[k])),
    )
