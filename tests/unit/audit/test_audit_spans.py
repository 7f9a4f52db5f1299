"""Span (NER) items in the audit log: a label's span changes are a chained column, reports
count span overrides and entity-level figures, agreement on span items counts per entity,
and the export carries the spans in every format: CoNLL BIO (read back to the same spans),
spaCy JSON (what Doc.from_json reads) and Label Studio `labels` results, each with its
provenance."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from mitl_audit.core import chain
from mitl_audit.core.agreement import SharedItem, entity_agreement
from mitl_audit.core.entries import entry_for
from mitl_audit.core.export import arrow_table, export_row, format_problem
from mitl_audit.core.export_formats import encode, label_studio_task
from mitl_audit.core.span_figures import SpanCount, span_figures
from mitl_audit.core.span_formats import bio_spans, read_conll, spacy_doc, tokens_of
from mitl_cli.main import main
from mitl_contracts.events import Label
from mitl_contracts.spans import Span, spans_key

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEXT = "Ada Lovelace met Charles Babbage in London"
SUGGESTED = [
    Span(start=0, end=12, label="PER", confidence=0.93),
    Span(start=36, end=42, label="ORG", confidence=0.52),
]
FINAL = [
    Span(start=0, end=12, label="PER"),
    Span(start=17, end=32, label="PER"),
    Span(start=36, end=42, label="LOC"),
]


def human_label(**overrides: Any) -> Label:
    fields: dict[str, Any] = {
        "event_id": "label-t1", "dataset": "ner", "item_id": "i1", "occurred_at": AT,
        "label": spans_key(FINAL), "source": "annotator", "action": "correct",
        "annotator": "ada", "role": "annotator", "suggested_label": spans_key(SUGGESTED),
        "model_version": "ner-m1", "spans": FINAL, "suggested_spans": SUGGESTED,
    }  # fmt: skip
    return Label.model_validate(fields | overrides)


def test_a_span_label_chains_its_changes_and_old_rows_still_verify() -> None:
    entry = entry_for(human_label())
    assert entry.is_override and entry.label == "0:12:PER|17:32:PER|36:42:LOC"
    changes = json.loads(entry.span_changes or "")
    assert changes["added"] == [{"start": 17, "end": 32, "label": "PER"}]
    assert changes["relabelled"] == [{"start": 36, "end": 42, "label": "LOC"}]
    assert changes["removed"] == []
    payload = json.loads(entry.payload)
    assert payload["spans"][1] == {"start": 17, "end": 32, "label": "PER", "confidence": None}
    assert payload["suggested_spans"][0]["confidence"] == 0.93
    [row] = chain.seal([entry], chain.Head(), AT)
    tampered = row.entry.__class__(**{**row.entry.__dict__, "span_changes": '{"added":[]}'})
    assert chain.row_hash(row.prev_hash, row.seq, AT, tampered) != row.row_hash
    # A single-label row has no span changes and hashes without the column.
    plain = entry_for(
        human_label(label="PER", suggested_label="ORG", spans=None, suggested_spans=None)
    )
    assert plain.span_changes is None
    assert '"span_changes"' not in chain.content(1, AT, plain)


def test_span_figures_count_overrides_and_entities() -> None:
    assert span_figures(SpanCount(verified=0, overrides=0, suggested=0, final=0, added=0,
                                  removed=0, relabelled=0)) is None  # fmt: skip
    figures = span_figures(
        SpanCount(verified=4, overrides=1, suggested=8, final=9, added=2, removed=1, relabelled=1)
    )
    assert figures is not None
    assert figures.kept == 6 and figures.override_rate == 0.25
    assert figures.precision == 6 / 8 and figures.recall == 6 / 9


def test_agreement_on_span_items_is_counted_per_entity() -> None:
    shared = [
        SharedItem("ner", "i1", {"ada": "0:12:PER|36:42:LOC", "bob": "0:12:PER|36:42:ORG"}),
        SharedItem("ner", "i2", {"ada": "0:3:PER", "bob": "0:3:PER", "cy": ""}),
    ]
    result = entity_agreement(shared)
    pairs = {(p.annotator_a, p.annotator_b): p for p in result.pairs}
    ada_bob = pairs[("ada", "bob")]
    assert (ada_bob.items, ada_bob.entities_a, ada_bob.entities_b, ada_bob.matched) == (
        2, 3, 3, 2,
    )  # fmt: skip
    assert ada_bob.f1 == pytest.approx(4 / 6)
    assert pairs[("ada", "cy")].f1 == 0.0 and pairs[("ada", "cy")].items == 1
    assert result.pair_items == 4 and result.matched == 2
    assert result.f1 == pytest.approx(4 / (6 + 1 + 1))


def record(**fields: Any) -> dict[str, Any]:
    """A span item's final-label record as store/export.py's query returns it."""
    label = human_label()
    changes = entry_for(label).span_changes
    defaults: dict[str, Any] = {
        "dataset": "ner", "seq": 7, "event_id": "label-t1", "item_id": "i1",
        "label": label.label, "source": "annotator", "action": "correct", "annotator": "ada",
        "role": "annotator", "suggested_label": label.suggested_label, "model_version": "ner-m1",
        "policy_version": "p1", "guideline_version": None, "is_override": True,
        "occurred_at": AT, "row_hash": "cd" * 32, "label_batch_id": "b", "human_labels": 1,
        "external_id": "tweet-1", "batch_id": "b",
        "content": json.dumps({"text": TEXT, "metadata": {}}), "route": "review",
        "confidence": 0.52, "spot_check": "false",
        "span_set": json.dumps([s.model_dump() for s in FINAL]),
        "suggested_span_set": json.dumps([s.model_dump() for s in SUGGESTED]),
        "span_changes": changes,
    }  # fmt: skip
    return defaults | fields


def test_an_export_row_carries_the_spans_and_what_changed() -> None:
    row = export_row(record())
    assert [Span.model_validate(s) for s in row["spans"]] == FINAL
    assert row["suggested_spans"][1]["confidence"] == 0.52
    provenance = row["provenance"]
    assert provenance["spans_added"] == [{"start": 17, "end": 32, "label": "PER"}]
    assert provenance["spans_relabelled"] == [{"start": 36, "end": 42, "label": "LOC"}]
    assert provenance["spans_removed"] == []
    table = arrow_table([row, export_row(record(item_id="i2", span_changes=None))])
    spans = table.column("spans").to_pylist()[0]
    assert [(s["start"], s["end"], s["label"]) for s in spans] == [
        (0, 12, "PER"), (17, 32, "PER"), (36, 42, "LOC"),
    ]  # fmt: skip
    assert table.schema.field("spans").type == pa.list_(
        pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()),
                   ("confidence", pa.float64())])
    )  # fmt: skip


def model_row() -> dict[str, Any]:
    accepted = [Span(start=4, end=10, label="LOC", confidence=0.97)]
    return export_row(
        record(
            item_id="i2", external_id="tweet-2", source="model", action="auto_accept",
            annotator=None, role=None, suggested_label=None, is_override=False,
            label=spans_key(accepted), route="accept", confidence=0.97,
            content=json.dumps({"text": "met Berlin  twice", "metadata": {}}),
            span_set=json.dumps([s.model_dump() for s in accepted]),
            suggested_span_set=None, span_changes=None,
        )
    )  # fmt: skip


def test_conll_bio_holds_provenance_and_reads_back_to_the_same_spans() -> None:
    rows = [export_row(record()), model_row()]
    content = encode("conll", rows).decode()
    blocks = content.split("\n\n")
    assert (
        blocks[0]
        .splitlines()[0]
        .startswith(
            "# item_id=i1 external_id=tweet-1 source=annotator labeled_by=ada role=annotator "
            "action=correct model_version=ner-m1"
        )
    )
    assert blocks[0].splitlines()[1:] == [
        "Ada\tB-PER", "Lovelace\tI-PER", "met\tO", "Charles\tB-PER", "Babbage\tI-PER",
        "in\tO", "London\tB-LOC",
    ]  # fmt: skip
    items = read_conll(content)
    assert [i.fields["item_id"] for i in items] == ["i1", "i2"]
    assert items[0].fields["overrides_model"] == "true" and items[0].fields["audit_seq"] == "7"
    assert items[1].fields["source"] == "model" and items[1].fields["labeled_by"] == "ner-m1"
    assert items[1].fields["decision_route"] == "accept"
    assert items[0].spans(TEXT) == FINAL and items[0].spans() == FINAL
    assert items[1].spans("met Berlin  twice") == [Span(start=4, end=10, label="LOC")]
    assert items[1].tags == ["O", "B-LOC", "O"]


def test_bio_widens_spans_to_tokens_and_drops_overlaps_with_a_count() -> None:
    text = "Hi London, bye"
    row = export_row(
        record(
            content=json.dumps({"text": text, "metadata": {}}), label="3:9:LOC|3:9:PER",
            span_set=json.dumps([{"start": 3, "end": 9, "label": "LOC"},
                                 {"start": 3, "end": 9, "label": "PER"}]),
        )
    )  # fmt: skip
    [item] = read_conll(encode("conll", [row]).decode())
    assert item.tags == ["O", "B-LOC", "O"] and item.fields["dropped_overlaps"] == "1"
    assert bio_spans(tokens_of(text), item.tags) == [Span(start=3, end=10, label="LOC")]


def test_spacy_json_has_text_tokens_on_every_span_boundary_and_ents() -> None:
    text = "Hi London, bye"
    row = export_row(
        record(
            content=json.dumps({"text": text, "metadata": {}}), label="3:9:LOC",
            span_set=json.dumps([{"start": 3, "end": 9, "label": "LOC"}]),
        )
    )  # fmt: skip
    docs = json.loads(encode("spacy", [row, export_row(record())]))
    first = docs[0]
    assert first["text"] == text and first["ents"] == [{"start": 3, "end": 9, "label": "LOC"}]
    assert [text[t["start"] : t["end"]] for t in first["tokens"]] == ["Hi", "London", ",", "bye"]
    assert [t["id"] for t in first["tokens"]] == [0, 1, 2, 3]
    mitl = first["mitl"]
    assert mitl["item_id"] == "i1" and mitl["provenance"]["labeled_by"] == "ada"
    assert mitl["provenance"]["action"] == "correct"
    assert docs[1]["ents"] == [s.model_dump(exclude={"confidence"}) for s in FINAL]
    assert spacy_doc(model_row())["mitl"]["provenance"]["labeled_by"] == "ner-m1"


def test_spacy_reads_the_spacy_json_when_it_is_installed() -> None:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import Doc, DocBin

    vocab = spacy.blank("en").vocab
    docs = json.loads(encode("spacy", [export_row(record()), model_row()]))
    read = [Doc(vocab).from_json(d, validate=True) for d in docs]
    assert [(e.start_char, e.end_char, e.label_) for e in read[0].ents] == [
        (0, 12, "PER"), (17, 32, "PER"), (36, 42, "LOC"),
    ]  # fmt: skip
    assert [(e.start_char, e.end_char, e.label_) for e in read[1].ents] == [(4, 10, "LOC")]
    assert read[1].text == "met Berlin  twice"
    # Whitespace beyond one space is a token of its own, as spaCy keeps it.
    assert [t.text for t in read[1]] == ["met", "Berlin", " ", "twice"]
    padded = export_row(
        record(
            content=json.dumps({"text": "  Ann\tin Oslo ", "metadata": {}}),
            label="1:6:PER|8:14:LOC",
            span_set=json.dumps([{"start": 1, "end": 6, "label": "PER"},
                                 {"start": 8, "end": 14, "label": "LOC"}]),
        )
    )  # fmt: skip
    doc = Doc(vocab).from_json(spacy_doc(padded), validate=True)
    assert doc.text == "  Ann\tin Oslo "
    assert [(e.text, e.label_) for e in doc.ents] == [("Ann", "PER"), ("Oslo", "LOC")]
    assert len(DocBin(docs=read).to_bytes()) > 0


def test_label_studio_tasks_carry_labels_results_for_annotations_and_predictions() -> None:
    task = label_studio_task(export_row(record()))
    assert task["data"]["text"] == TEXT
    [annotation] = task["annotations"]
    assert annotation["meta"] == {"labeled_by": "ada", "role": "annotator"}
    assert [r["value"] for r in annotation["result"]] == [
        {"start": 0, "end": 12, "text": "Ada Lovelace", "labels": ["PER"]},
        {"start": 17, "end": 32, "text": "Charles Babbage", "labels": ["PER"]},
        {"start": 36, "end": 42, "text": "London", "labels": ["LOC"]},
    ]
    assert {r["type"] for r in annotation["result"]} == {"labels"}
    assert {(r["from_name"], r["to_name"]) for r in annotation["result"]} == {("label", "text")}
    [prediction] = task["predictions"]
    assert prediction["model_version"] == "ner-m1" and prediction["score"] == 0.52
    assert [(r["value"]["labels"], r["score"]) for r in prediction["result"]] == [
        (["PER"], 0.93), (["ORG"], 0.52),
    ]  # fmt: skip
    assert task["meta"]["mitl"]["provenance"]["spans_added"][0]["start"] == 17
    accepted = label_studio_task(model_row())
    assert accepted["annotations"] == []
    assert accepted["predictions"][0]["result"][0]["value"]["text"] == "Berlin"
    assert json.loads(encode("labelstudio", [model_row()])) == json.loads(
        encode("label-studio", [model_row()])
    )


def test_span_formats_are_refused_for_other_tasks() -> None:
    assert format_problem("conll", "single") == (
        "format 'conll' holds entity spans; this dataset's task is 'single'"
    )
    assert format_problem("spacy", "multilabel") is not None
    assert format_problem("conll", "spans") is None and format_problem("conll", None) is None
    assert format_problem("label-studio", "single") is None


def test_mitl_export_refuses_a_span_format_for_another_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text("datasets:\n  trec6:\n    labels: [A, B]\n")
    monkeypatch.setenv("MITL_DATASETS_FILE", str(catalog))
    out = tmp_path / "trec6.conll"
    code = main(["export", "--dataset", "trec6", "--format", "conll", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "format 'conll' holds entity spans; this dataset's task is 'single'" in (
        capsys.readouterr().err
    )
