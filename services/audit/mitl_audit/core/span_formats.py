"""Export rows of a span (NER) dataset in the formats NER tools read. Pure: no I/O.

Each keeps the label's provenance: who gave it (the person, or the model version), the action
and the routing decision, and its place in the audit log.

- **CoNLL BIO** (`conll`): per item a comment line `# item_id=... source=... model_version=...`
  with the provenance (values without whitespace, `-` for none), then one `token<TAB>tag`
  line per token and a blank line. Tokens are the text split at whitespace; a token gets
  `B-<label>` if it is the first token a span touches, `I-<label>` for the span's further
  tokens, `O` outside every span (a span is widened to whole tokens). BIO cannot hold
  overlapping spans: where they overlap, the earlier-starting (then longer) span is kept and
  the comment's `dropped_overlaps=` says how many were left out. `read_conll` and
  `bio_spans` read it back.
- **spaCy JSON** (`spacy`): one JSON array of documents as `spacy.tokens.Doc.from_json`
  reads them: `text`, `tokens` ({id, start, end}: the text split at whitespace and at every
  span boundary, so each entity starts and ends on a token; whitespace beyond one space after
  a word is a token, as spaCy keeps it) and `ents` ({start, end, label}, character offsets,
  without whitespace at their edges); the item's ids and provenance are under the key
  `mitl`, which spaCy passes over (not `_`: Doc.from_json would register a custom attribute
  without a default, which spaCy refuses). A `DocBin` is then
  `DocBin(docs=[Doc(nlp.vocab).from_json(d, validate=True) for d in docs])`. spaCy's `ents`
  cannot overlap either: overlaps are dropped as in CoNLL and counted in
  `mitl.dropped_overlaps`.
- **Label Studio** (`label-studio`, also `labelstudio`): tasks as for other datasets
  (export_formats), with results of type `labels` ({from_name "label", to_name "text", value
  {start, end, text, labels}}): a person's spans in `annotations`, the model's (accepted, or
  the suggestion the person saw, each with its confidence as `score`) in `predictions`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mitl_contracts.spans import Span, ordered, spans_of_key

from mitl_audit.core import label_studio
from mitl_audit.core.entries import HUMAN_SOURCES
from mitl_audit.core.json_array import JsonArrayEncoder

WHITESPACE_TOKEN = re.compile(r"\S+")
# Provenance fields in a CoNLL comment line, after item_id, in this order.
CONLL_FIELDS = (
    "external_id",
    "source",
    "labeled_by",
    "role",
    "action",
    "model_version",
    "policy_version",
    "decision_route",
    "overrides_model",
    "labeled_at",
    "event_id",
    "audit_seq",
)


def tokens_of(text: str) -> list[tuple[int, int]]:
    """The text's tokens split at whitespace, as (start, end) character offsets."""
    return [(m.start(), m.end()) for m in WHITESPACE_TOKEN.finditer(text)]


def row_spans(row: dict[str, Any]) -> list[Span]:
    """An export row's final spans: its `spans`, else read from its label (a span key)."""
    spans = row.get("spans")
    if spans is None:
        return spans_of_key(row["label"] or "")
    return ordered(Span.model_validate(s) for s in spans)


def without_overlaps(spans: Iterable[Span]) -> tuple[list[Span], int]:
    """The spans that do not overlap an earlier kept one (earlier start first, then longer),
    and how many were dropped."""
    kept: list[Span] = []
    dropped = 0
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start), s.label)):
        if kept and span.start < kept[-1].end:
            dropped += 1
        else:
            kept.append(span)
    return kept, dropped


def bio_tags(tokens: list[tuple[int, int]], spans: Iterable[Span]) -> list[str]:
    """The BIO tag of each token under non-overlapping `spans`."""
    tags = ["O"] * len(tokens)
    for span in spans:
        inside = [i for i, (s, e) in enumerate(tokens) if s < span.end and e > span.start]
        for n, i in enumerate(inside):
            tags[i] = f"{'B' if n == 0 else 'I'}-{span.label}"
    return tags


def bio_spans(tokens: list[tuple[int, int]], tags: list[str]) -> list[Span]:
    """The spans BIO `tags` mark over `tokens` (an I- tag without its B- starts a span)."""
    spans: list[Span] = []
    current: tuple[int, int, str] | None = None
    for (start, end), tag in zip(tokens, tags, strict=True):
        kind, _, label = tag.partition("-")
        if current is not None and kind == "I" and label == current[2]:
            current = (current[0], end, label)
            continue
        if current is not None:
            spans.append(Span(start=current[0], end=current[1], label=current[2]))
            current = None
        if kind in ("B", "I"):
            current = (start, end, label)
    if current is not None:
        spans.append(Span(start=current[0], end=current[1], label=current[2]))
    return spans


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        value = value.isoformat(timespec="microseconds")
    return re.sub(r"\s", "_", str(value)) or "-"


def conll_block(row: dict[str, Any]) -> str:
    """One item in CoNLL BIO: its provenance comment, a line per token, a blank line."""
    text = row["text"] or ""
    provenance = row["provenance"] | {"external_id": row["external_id"]}
    spans, dropped = without_overlaps(row_spans(row))
    fields = [f"item_id={_value(row['item_id'])}"]
    fields += [f"{name}={_value(provenance.get(name))}" for name in CONLL_FIELDS]
    fields.append(f"dropped_overlaps={dropped}")
    tokens = tokens_of(text)
    lines = [f"# {' '.join(fields)}"]
    lines += [
        f"{text[s:e]}\t{tag}" for (s, e), tag in zip(tokens, bio_tags(tokens, spans), strict=True)
    ]
    return "\n".join(lines) + "\n\n"


@dataclass(frozen=True)
class ConllItem:
    """One item read back from CoNLL BIO: its comment's fields, its tokens and their tags."""

    fields: dict[str, str]
    tokens: list[str]
    tags: list[str]

    def spans(self, text: str | None = None) -> list[Span]:
        """The item's spans as character offsets into `text` (the tokens found in order in
        it), or into the tokens joined by single spaces."""
        offsets: list[tuple[int, int]] = []
        at = 0
        for token in self.tokens:
            start = text.index(token, at) if text is not None else at
            offsets.append((start, start + len(token)))
            at = start + len(token) + (0 if text is not None else 1)
        return bio_spans(offsets, self.tags)


def read_conll(content: str) -> list[ConllItem]:
    """The items of a CoNLL BIO export."""
    items: list[ConllItem] = []
    fields: dict[str, str] = {}
    tokens: list[str] = []
    tags: list[str] = []
    for line in [*content.splitlines(), ""]:
        if line.startswith("# "):
            fields = dict(part.split("=", 1) for part in line[2:].split())
        elif line.strip():
            token, tag = line.split("\t")
            tokens.append(token)
            tags.append(tag)
        elif fields:
            items.append(ConllItem(fields, tokens, tags))
            fields, tokens, tags = {}, [], []
    return items


def spacy_doc(row: dict[str, Any]) -> dict[str, Any]:
    """One item as a spaCy Doc's JSON (Doc.to_json's layout, what Doc.from_json reads)."""
    text = row["text"] or ""
    spans, dropped = without_overlaps(_trimmed(text, row_spans(row)))
    cuts = {0, len(text)}
    for span in spans:
        cuts |= {span.start, span.end}
    words: list[tuple[int, int]] = []
    for start, end in tokens_of(text):
        inner = sorted(c for c in cuts if start < c < end)
        words += zip([start, *inner], [*inner, end], strict=True)
    tokens: list[dict[str, int]] = []
    # Whitespace as spaCy keeps it: one space after a word is the word's trailing space; any
    # other whitespace is a token of its own (spacy.util.get_words_and_spaces).
    at = 0
    for start, end in words:
        if start > at:
            tokens.append({"id": len(tokens), "start": at, "end": start})
        tokens.append({"id": len(tokens), "start": start, "end": end})
        at = end + 1 if end < len(text) and text[end] == " " else end
    if at < len(text):
        tokens.append({"id": len(tokens), "start": at, "end": len(text)})
    provenance = _plain(row["provenance"])
    return {
        "text": text,
        "ents": [{"start": s.start, "end": s.end, "label": s.label} for s in spans],
        "tokens": tokens,
        "mitl": {
            "item_id": row["item_id"],
            "external_id": row["external_id"],
            "dataset": row["dataset"],
            "dropped_overlaps": dropped,
            "provenance": provenance,
        },
    }


def _trimmed(text: str, spans: Iterable[Span]) -> list[Span]:
    """`spans` without whitespace at their edges (a spaCy entity is whole tokens); a span of
    whitespace only is left out."""
    out: list[Span] = []
    for span in spans:
        start, end = span.start, span.end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            out.append(Span(start=start, end=end, label=span.label))
    return out


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.isoformat(timespec="microseconds")))


def _labels_result(text: str, span: Span, score: float | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": f"{span.start}-{span.end}-{span.label}",
        "from_name": label_studio.FROM_NAME,
        "to_name": "text",
        "type": "labels",
        "value": {
            "start": span.start,
            "end": span.end,
            "text": text[span.start : span.end],
            "labels": [span.label],
        },
    }
    if score is not None:
        result["score"] = score
    return result


def label_studio_span_results(
    row: dict[str, Any], provenance: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A span row's Label Studio `annotations` and `predictions` (see the module docstring)."""
    text = row["text"] or ""
    human = provenance["source"] in HUMAN_SOURCES
    annotations = []
    if human:
        result = [_labels_result(text, s) for s in row_spans(row)]
        annotations.append(label_studio.annotation(result, provenance))
    predicted = row.get("suggested_spans") if human else row.get("spans")
    if predicted is None and not human:
        predicted = [s.model_dump() for s in row_spans(row)]
    predictions = []
    if predicted is not None and provenance["model_version"] is not None:
        spans = [Span.model_validate(s) for s in predicted]
        result = [_labels_result(text, s, s.confidence) for s in ordered(spans)]
        predictions.append(label_studio.prediction(result, provenance))
    return annotations, predictions


class ConllEncoder:
    def begin(self) -> bytes:
        return b""

    def rows(self, rows: list[dict[str, Any]]) -> bytes:
        return "".join(conll_block(row) for row in rows).encode("utf-8")

    def end(self) -> bytes:
        return b""


def spacy_encoder() -> JsonArrayEncoder:
    """A JSON array of spaCy documents, written a chunk at a time."""
    return JsonArrayEncoder(lambda row: json.dumps(spacy_doc(row), ensure_ascii=False))
