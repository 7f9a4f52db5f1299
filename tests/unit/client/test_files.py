"""The Python client's file readers: CSV, JSON Lines, Parquet and Label Studio task JSON to
items; stable ids; records that cannot be taken, and files that are not what they claim."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mitl_client.files import BadFile, Rejected, Row, count, derived_id, kind_of, read, spread

LABELS = ["ham", "spam"]


def rows(path: Path, **options: object) -> list[Row | Rejected]:
    return list(read(path, **options))  # type: ignore[arg-type]


def test_kind_from_suffix() -> None:
    assert kind_of(Path("a.CSV")) == "csv"
    assert kind_of(Path("a.ndjson")) == "jsonl"
    assert kind_of(Path("a.json")) == "label-studio"
    with pytest.raises(BadFile, match=r"suffix '\.txt'"):
        kind_of(Path("a.txt"))


def test_csv_rows_become_items_with_metadata_and_stable_ids(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text('text,source,score\nWin a prize,sms,3\n"Two\nlines",mail,\n')
    first, second = rows(path)
    assert isinstance(first, Row) and isinstance(second, Row)
    assert (first.line, second.line) == (2, 3)
    assert first.item.text == "Win a prize"
    assert first.item.metadata == {"source": "sms", "score": "3"}
    assert second.item.metadata == {"source": "mail"}
    assert first.item.external_id.startswith("row-")
    again = rows(path)
    assert [r.item.external_id for r in again if isinstance(r, Row)] == [
        first.item.external_id,
        second.item.external_id,
    ]
    assert count(path) == 3  # a line count: a quoted field over two lines counts twice


def test_an_id_column_names_the_items(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,text\nm1,hello\n,no id\n")
    first, second = rows(path)
    assert isinstance(first, Row) and first.item.external_id == "m1"
    assert first.item.metadata == {}
    assert isinstance(second, Rejected) and second.reason == "line 3: column 'id' is empty"


def test_csv_rows_that_cannot_be_taken_are_rejected_and_the_rest_carry_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "items.csv"
    path.write_text("text,source\n,sms\nhello,sms,extra\n   ,x\nfine,y\n")
    records = rows(path)
    assert [type(r).__name__ for r in records] == ["Rejected", "Rejected", "Rejected", "Row"]
    assert records[0].reason == "line 2: no 'text' (and no 'vector' or 'image')"  # type: ignore[union-attr]
    assert records[1].reason == "line 3: 3 fields, the header has 2"  # type: ignore[union-attr]
    assert "line 4" in records[2].reason and "empty" in records[2].reason  # type: ignore[union-attr]


def test_a_stray_quote_rejects_its_own_row_and_never_swallows_the_rows_after_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "items.csv"
    path.write_text('text,source\n"quoted" tail,sms\nnext,sms\n"two\nlines",sms\nlast,x\n')
    records = rows(path)
    assert [type(r).__name__ for r in records] == ["Rejected", "Row", "Row", "Row"]
    assert records[0] == Rejected(2, "line 2: not CSV: ',' expected after '\"'")
    assert [(r.line, r.item.text) for r in records[1:]] == [  # type: ignore[union-attr]
        (3, "next"),
        (4, "two\nlines"),
        (6, "last"),
    ]


def test_a_quote_never_closed_is_rejected_where_it_opens(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text('text,source\nfine,sms\n"open,sms\nswallowed,sms\n')
    first, second = rows(path)
    assert isinstance(first, Row) and first.item.text == "fine"
    assert second == Rejected(
        3,
        "line 3: not CSV: a quoted field opened on this line is not closed before the end of "
        "the file",
    )


def test_a_csv_without_the_text_column_is_refused_naming_line_and_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "items.csv"
    path.write_text("body,source\nhello,sms\n")
    with pytest.raises(BadFile, match=r"line 1: no column 'text' .*'body', 'source'"):
        rows(path)
    assert isinstance(rows(path, text_column="body")[0], Row)


def test_jsonl_records_vectors_predictions_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    prediction = {"model_id": "mine-v1", "labels": LABELS, "probabilities": [0.2, 0.8]}
    path.write_text(
        "\n".join(
            [
                json.dumps({"external_id": "a", "text": "hi", "prediction": prediction}),
                '{"external_id": "b", "text": ',
                json.dumps({"external_id": "c", "vector": [1, 2.5], "n": 3}),
                "[1, 2]",
                "",
            ]
        )
    )
    a, b, c, d = rows(path)
    assert isinstance(a, Row) and a.item.prediction is not None
    assert a.item.prediction.model_id == "mine-v1"
    assert isinstance(b, Rejected) and b.reason.startswith("line 2, column 30: not JSON")
    assert isinstance(c, Row) and c.item.vector == [1.0, 2.5] and c.item.metadata == {"n": "3"}
    assert isinstance(d, Rejected) and d.reason == "line 4: a list, not a JSON object"


def test_parquet_rows_and_wrong_types(tmp_path: Path) -> None:
    path = tmp_path / "items.parquet"
    pq.write_table(pa.table({"id": [1, 2], "text": ["a", "b"], "lang": ["en", None]}), path)
    first, second = rows(path)
    assert isinstance(first, Row) and first.item.external_id == "1"
    assert first.item.metadata == {"lang": "en"}
    assert isinstance(second, Row) and second.item.metadata == {}
    assert count(path) == 2
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), bad)
    with pytest.raises(BadFile, match=r"column 'text': int64, not a string"):
        rows(bad)
    not_parquet = tmp_path / "no.parquet"
    not_parquet.write_text("text\nhello\n")
    with pytest.raises(BadFile, match="not a Parquet file"):
        rows(not_parquet)


def label_studio_task(text: str, choice: str, score: float | None, **data: str) -> dict:
    prediction: dict = {
        "model_version": "client:mine v1",
        "result": [{"type": "choices", "value": {"choices": [choice]}}],
    }
    if score is not None:
        prediction["score"] = score
    return {
        "id": 7,
        "data": {"text": text, **data},
        "predictions": [prediction],
        "annotations": [
            {"result": [{"type": "choices", "value": {"choices": ["ham"]}}], "was_cancelled": False}
        ],
    }


def test_label_studio_predictions_become_client_predictions(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    tasks = [
        label_studio_task("win now", "spam", 0.9, external_id="s1", lang="en"),
        label_studio_task("hi", "spam", None),
        label_studio_task("hey", "eggs", 0.8),
        {"data": {"body": "no text"}},
    ]
    path.write_text(json.dumps(tasks, indent=2))
    first, second, third, fourth = rows(path, labels=LABELS)
    assert isinstance(first, Row)
    assert first.item.external_id == "s1"
    assert first.item.metadata == {"lang": "en", "ls_annotation": "ham"}
    prediction = first.item.prediction
    assert prediction is not None and prediction.model_id == "mine-v1"
    assert prediction.probabilities == pytest.approx([0.1, 0.9])
    assert isinstance(second, Row) and second.item.prediction is None
    assert second.item.metadata["ls_prediction"] == "spam"
    assert (
        isinstance(third, Rejected) and "'eggs' is not one of the dataset's labels" in third.reason
    )
    assert isinstance(fourth, Rejected) and "no 'text'" in fourth.reason
    # Without the label set, predictions are kept as metadata.
    plain = rows(path)[0]
    assert isinstance(plain, Row) and plain.item.prediction is None
    assert plain.item.metadata["ls_model_version"] == "client:mine v1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"data": {"text": "a"}}', r"line 1, column 1: a JSON object; .* JSON array of tasks"),
        ('[\n  {"data": {"text": "a"}},\n  {"text": "b"}\n]', r"line 3, column 3: task 2 is not"),
        ('[\n  {"data": {"text": "a"},\n  }\n]', r"line 3, column 3: not JSON: Expecting prop"),
        ('[{"data": {"text": "a"}, "predictions": {}}]', r"task 1: 'predictions' is not a list"),
        ('[{"data": {"text": "a"}}] x', r"line 1, column 27: text after the end"),
    ],
)
def test_json_that_is_not_label_studio_is_refused_naming_line_and_column(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(content)
    with pytest.raises(BadFile, match=message):
        rows(path, labels=LABELS)


def test_spread_keeps_the_chosen_label_on_top() -> None:
    assert spread("b", 0.7, ["a", "b", "c"]) == pytest.approx([0.15, 0.7, 0.15])
    assert spread("a", 0.1, ["a", "b"]) == pytest.approx([0.5, 0.5])
    assert sum(spread("a", 1.0, ["a", "b", "c"])) == pytest.approx(1.0)


def test_derived_ids_depend_on_content_only() -> None:
    assert derived_id({"text": "a", "metadata": {}}) == derived_id({"metadata": {}, "text": "a"})
    assert derived_id({"text": "a"}) != derived_id({"text": "b"})


def test_bytes_that_are_not_utf8_reject_their_line_only(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "\xff"}\n{"text": "fine"}\n')
    first, second, third = rows(path)
    assert isinstance(first, Row) and isinstance(third, Row)
    assert isinstance(second, Rejected) and second.reason == "line 2, byte 11: not UTF-8 text"


def test_parquet_metadata_of_any_type_is_text_and_long_csv_cells_are_read(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    path = tmp_path / "items.parquet"
    at = datetime(2026, 1, 2, tzinfo=UTC)
    pq.write_table(pa.table({"text": ["a"], "at": [at], "n": [1.5], "ok": [True]}), path)
    [row] = rows(path)
    assert isinstance(row, Row)
    assert row.item.metadata == {"at": "2026-01-02T00:00:00+00:00", "n": "1.5", "ok": "true"}
    big = tmp_path / "big.csv"
    big.write_text("text\n" + "w " * 100_000 + "\n")
    [long_row] = rows(big)
    assert isinstance(long_row, Rejected) and "at most 20000 characters" in long_row.reason


def test_a_label_studio_file_is_checked_whole_before_any_task(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text('[{"data": {"text": "a"}}, {"data": {"text": "b"}}, 7]')
    records = read(path, labels=LABELS)
    with pytest.raises(BadFile, match="task 3 is not"):
        next(records)


def test_span_predictions_in_jsonl_and_label_studio_become_client_span_predictions(
    tmp_path: Path,
) -> None:
    labels = ["PER", "LOC"]
    text = "Ada lived in London"
    found = [{"start": 13, "end": 19, "label": "LOC", "confidence": 0.8}]
    jsonl = tmp_path / "items.jsonl"
    prediction = {"model_id": "ner-v1", "labels": labels, "spans": found, "spans_complete": 0.6}
    jsonl.write_text(json.dumps({"external_id": "a", "text": text, "prediction": prediction}))
    (row,) = rows(jsonl)
    assert isinstance(row, Row) and row.item.prediction is not None
    assert row.item.prediction.spans is not None and row.item.prediction.spans_complete == 0.6

    def result(start: int, end: int, label: str, score: float | None) -> dict[str, object]:
        value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
        out: dict[str, object] = {"from_name": "label", "to_name": "text", "type": "labels",
                                  "value": value}  # fmt: skip
        return out if score is None else out | {"score": score}

    def task(results: list[dict[str, object]], score: float | None = 0.7) -> dict[str, object]:
        entry: dict[str, object] = {"model_version": "ner-v1", "result": results}
        if score is not None:
            entry["score"] = score
        annotation = {"result": [result(0, 3, "PER", None)], "was_cancelled": False}
        return {"data": {"text": text}, "predictions": [entry], "annotations": [annotation]}

    path = tmp_path / "tasks.json"
    path.write_text(
        json.dumps(
            [
                task([result(13, 19, "LOC", 0.9), result(0, 3, "PER", None)]),
                task([result(0, 3, "PER", 0.9)], score=None),
                task([result(0, 3, "ORG", 0.9)]),
                task([result(3, 3, "PER", 0.9)]),
            ]
        )
    )
    spans, unscored, unknown, empty = rows(path, labels=labels)
    assert isinstance(spans, Row) and spans.item.prediction is not None
    client = spans.item.prediction
    assert client.model_id == "ner-v1" and client.spans_complete == 0.7
    # A result without its own score takes the prediction's.
    assert [(s.key, s.confidence) for s in client.spans or []] == [
        ("13:19:LOC", 0.9),
        ("0:3:PER", 0.7),
    ]
    assert spans.item.metadata["ls_annotation"] == "0:3:PER"
    assert isinstance(unscored, Row) and unscored.item.prediction is None
    assert unscored.item.metadata["ls_prediction"] == "0:3:PER"
    assert isinstance(unknown, Rejected) and "'ORG' is not one of the dataset's labels" in (
        unknown.reason
    )
    assert isinstance(empty, Rejected) and "empty or reversed" in empty.reason


def test_a_multi_label_annotation_keeps_every_choice(tmp_path: Path) -> None:
    # As mitl exports a multi-label item to Label Studio: one choices result with its set.
    chosen = {"type": "choices", "value": {"choices": ["Class1", "Class3"]}}
    task = {"data": {"text": "a gene"}, "annotations": [{"result": [chosen]}]}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([task]))
    [row] = rows(path)
    assert isinstance(row, Row) and row.item.metadata["ls_annotation"] == "Class1|Class3"
