"""Multi-label text datasets: each text has a set of labels (a 0/1 row over the labels).

No installed package ships a multi-label text set, but WNUT-16 (mitl_ml.span_data) holds one:
each tweet's label set is the set of entity types its gold spans mention (possibly empty).
"wnut16-types": 2,394 tweets, 10 labels (the entity types), 918 tweets with at least one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from mitl_contracts.spans import Span

from mitl_ml.span_data import load_wnut16

WNUT16_TYPES = "wnut16-types"


@dataclass(frozen=True, eq=False)
class TextMultiLabelData:
    """`texts`: the items; `y`: bool [n, k], y[i, j] is True when text i has `labels[j]`."""

    name: str
    labels: tuple[str, ...]
    texts: list[str]
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.y.shape != (len(self.texts), len(self.labels)):
            raise ValueError(
                f"{self.name}: {len(self.texts)} texts and {len(self.labels)} labels, but a "
                f"label matrix of shape {self.y.shape}"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def label_sets(self) -> list[list[str]]:
        """Each text's labels, in label order."""
        return [[self.labels[j] for j in np.flatnonzero(row)] for row in self.y]


def entity_type_matrix(spans: Sequence[Sequence[Span]], labels: Sequence[str]) -> np.ndarray:
    """bool [n, k]: text i mentions an entity of type labels[j]; ValueError for a span whose
    label is not in `labels`."""
    index = {label: j for j, label in enumerate(labels)}
    y = np.zeros((len(spans), len(labels)), dtype=bool)
    for i, found in enumerate(spans):
        for span in found:
            if span.label not in index:
                raise ValueError(f"text {i}: span label {span.label!r} is not in {list(labels)}")
            y[i, index[span.label]] = True
    return y


def load_wnut16_types() -> TextMultiLabelData:
    """WNUT-16's training tweets, each labeled with the set of entity types it mentions."""
    data = load_wnut16()
    return TextMultiLabelData(
        WNUT16_TYPES, data.labels, list(data.texts), entity_type_matrix(data.spans, data.labels)
    )


TEXT_MULTILABEL_LOADERS = {WNUT16_TYPES: load_wnut16_types}


def load_text_multilabel(name: str) -> TextMultiLabelData:
    """Load a multi-label text dataset by name (one of TEXT_MULTILABEL_LOADERS)."""
    try:
        loader = TEXT_MULTILABEL_LOADERS[name]
    except KeyError:
        raise ValueError(
            f"unknown multi-label text dataset {name!r}; known: {sorted(TEXT_MULTILABEL_LOADERS)}"
        ) from None
    return loader()
