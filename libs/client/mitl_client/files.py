"""Reading items out of files: CSV, JSON Lines, Parquet, Label Studio task JSON, and folders of
images. Pure reading, no HTTP: `read(path, ...)` yields, per record, the `Item` to ingest or why
the record cannot be taken (`Rejected`); a file that is not what it claims raises `BadFile`
naming the line (or, for Parquet, the column).

Columns (CSV, JSONL, Parquet; in Label Studio JSON the keys of a task's `data`):

- the content: `text_column` (default `text`), else a `vector` column (a list of numbers; JSON
  text in a CSV cell), else an `image` column: a PNG or JPEG file's path (relative to the
  file's folder) or a `data:image/...;base64,` URL;
- the item's id: `id_column` if given, else an `external_id` or `id` column, else an id derived
  from the content (`row-` and 24 hex digits of its sha256): stable across reruns, so ingest's
  deduplication makes an import resumable, and the same content in two rows is one item;
- a JSONL record's `prediction` object is the client's prediction (`ClientPrediction`);
- every other column is metadata (text; numbers and JSON values as their JSON text; empty
  cells and nulls left out).

Label Studio: the file is a JSON array of tasks, each an object with a `data` object. A task's
prediction (a `choices` result with its `score`) becomes the client's prediction under its
`model_version`: the chosen label gets the score (at least 1/n, so that it stays the top
label), the rest is spread evenly over the dataset's other labels, which `labels` gives. A
prediction of entity spans (`labels` results with `start` and `end`, as mitl exports a span
dataset) becomes a span prediction: each span's confidence is its result's `score` (else the
prediction's), and the prediction's `score` is the confidence that no entity is missing.
Without `labels` or a score the prediction is kept as metadata (`ls_prediction`,
`ls_model_version`) instead. Annotations are people's labels, which ingest does not take
(labels come from review): the latest one is kept as metadata (`ls_annotation`; several
choices joined by '|'; spans as `start:end:label|...`). A task exported by mitl (`meta.mitl`)
gets its metadata back.

A folder: its PNG and JPEG files (`.png`, `.jpg`, `.jpeg`), each an image item whose id is its
path in the folder (`cat/0001.png`). An image in a subfolder carries the subfolder's name as
metadata `label` (the layout `FOLDER/<label>/<image>`, where `mitl bootstrap` finds its labels);
one at the top carries none. Files of other types are left out, listed.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import hashlib
import json
import re
from base64 import b64encode
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mitl_contracts.events import (
    MAX_IMAGE_BYTES,
    NAME_CHARACTERS,
    NAME_MAX_LENGTH,
    ClientPrediction,
)
from pydantic import ValidationError

from mitl_client.models import Item

Kind = Literal["csv", "jsonl", "parquet", "label-studio", "folder"]
KINDS: tuple[Kind, ...] = ("csv", "jsonl", "parquet", "label-studio", "folder")
SUFFIXES: dict[str, Kind] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".json": "label-studio",
}
ID_COLUMNS = ("external_id", "id")
VECTOR_COLUMN = "vector"
IMAGE_COLUMN = "image"
CONTENT_COLUMNS = (VECTOR_COLUMN, IMAGE_COLUMN)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# The metadata key an image in a folder's subfolder carries the subfolder's name under.
FOLDER_LABEL_KEY = "label"
PREDICTION_KEY = "prediction"
# Keys mitl's own Label Studio export adds to `data` that are the item's ids, not metadata.
MITL_DATA_KEYS = ("item_id", "dataset", "batch_id")
MODEL_ID = re.compile(rf"[^{NAME_CHARACTERS}]")


class BadFile(ValueError):
    """The file is not what it claims to be; the message names the line and the column."""


@dataclass(frozen=True)
class Rejected:
    """A record that cannot be ingested, and why; `line` is where it starts (Parquet: its row)."""

    line: int
    reason: str
    external_id: str | None = None


@dataclass(frozen=True)
class Row:
    line: int
    item: Item


Record = Row | Rejected


def kind_of(path: Path) -> Kind:
    """A folder, else the kind of file by its suffix; BadFile if the suffix names none."""
    if path.is_dir():
        return "folder"
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise BadFile(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; "
            f"name it (one of {', '.join(KINDS)})"
        ) from None


def derived_id(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "row-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _text(value: Any) -> str:
    """A cell as text: itself if text, a time in ISO 8601, anything else as its JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str)


def _vector(value: Any) -> Any:
    """A vector as given (a list), or parsed from JSON text (a CSV cell)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _image(value: Any, root: Path) -> str:
    """An image cell as an item's `image` (base64): a data URL's payload, or the bytes of the
    file it names (relative to `root`); ValueError naming the fault."""
    if not isinstance(value, str):
        raise ValueError(f"{IMAGE_COLUMN!r} is a path or a data URL, not {_text(value)}")
    if value.startswith("data:"):
        head, comma, payload = value.partition(",")
        if not comma or not head.endswith(";base64"):
            raise ValueError(f"{IMAGE_COLUMN!r}: a data URL is data:image/...;base64,<data>")
        return payload
    path = root / value
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ValueError(
                f"image {value!r} has {size} bytes; an item carries at most {MAX_IMAGE_BYTES}"
            )
        return b64encode(path.read_bytes()).decode()
    except OSError as error:
        raise ValueError(f"image {value!r}: {error.strerror or error}") from None


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in error.errors()
    )


@dataclass(frozen=True)
class Columns:
    text: str = "text"
    id: str | None = None
    # Where an image column's relative paths start: the file's folder.
    root: Path = Path()

    def id_of(self, names: Mapping[str, Any] | list[str]) -> str | None:
        """The id column among `names`: the one asked for, else external_id or id."""
        if self.id is not None:
            return self.id
        return next((name for name in ID_COLUMNS if name in names), None)


def item_of(
    record: Mapping[str, Any],
    line: int,
    columns: Columns,
    *,
    id_column: str | None,
    extra_metadata: Mapping[str, str] | None = None,
    prediction: ClientPrediction | None = None,
    skip: tuple[str, ...] = (),
    where: str | None = None,
) -> Record:
    """The Item of one record (a mapping of column to value), or why not; `where` names the
    record in messages (default `line N`)."""
    where = where or f"line {line}"
    text = record.get(columns.text)
    content: dict[str, Any] = {}
    if text is not None and text != "":
        content["text"] = text if isinstance(text, str) else _text(text)
    elif record.get(VECTOR_COLUMN) not in (None, ""):
        content["vector"] = _vector(record[VECTOR_COLUMN])
    elif record.get(IMAGE_COLUMN) not in (None, ""):
        try:
            content["image"] = _image(record[IMAGE_COLUMN], columns.root)
        except ValueError as error:
            return Rejected(line, f"{where}: {error}")
    else:
        return Rejected(
            line, f"{where}: no {columns.text!r} (and no {VECTOR_COLUMN!r} or {IMAGE_COLUMN!r})"
        )
    used = {columns.text, *CONTENT_COLUMNS, PREDICTION_KEY, *skip}
    if id_column is not None:
        used.add(id_column)
    metadata = {
        str(key): _text(value)
        for key, value in record.items()
        if key not in used and value is not None and value != ""
    }
    metadata.update(extra_metadata or {})
    content["metadata"] = metadata
    raw_id = record.get(id_column) if id_column is not None else None
    if id_column is not None and raw_id in (None, ""):
        return Rejected(line, f"{where}: column {id_column!r} is empty")
    external_id = _text(raw_id) if raw_id is not None else derived_id(content)
    if prediction is None and isinstance(record.get(PREDICTION_KEY), Mapping):
        try:
            prediction = ClientPrediction.model_validate(record[PREDICTION_KEY])
        except ValidationError as error:
            return Rejected(line, f"{where}: prediction: {_describe(error)}", external_id)
    try:
        item = Item(external_id=external_id, prediction=prediction, **content)
    except ValidationError as error:
        return Rejected(line, f"{where}: {_describe(error)}", external_id)
    return Row(line, item)


# CSV


# A cell may hold a whole item's text: far more than the csv module's default 128 KiB.
CSV_FIELD_LIMIT = 16 * 1024 * 1024


def csv_fault(error: csv.Error) -> str:
    """The csv module's complaint, in words that say where to look."""
    if str(error) == "unexpected end of data":
        return "a quoted field opened on this line is not closed before the end of the file"
    return str(error)


def read_csv(path: Path, columns: Columns) -> Iterator[Record]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        # strict: a stray quote is an error of its row, not the start of a field that
        # silently swallows the rows after it (the lenient reader's default).
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise BadFile(f"{path}: line 1: empty file, expected a header row") from None
        except (csv.Error, UnicodeDecodeError) as error:
            raise BadFile(f"{path}: line 1: not CSV: {error}") from None
        if columns.text not in header and not set(CONTENT_COLUMNS) & set(header):
            raise BadFile(
                f"{path}: line 1: no column {columns.text!r} (nor {VECTOR_COLUMN!r} or "
                f"{IMAGE_COLUMN!r}); the header has {', '.join(repr(h) for h in header)}"
            )
        id_column = columns.id_of(header)
        if id_column is not None and id_column not in header:
            raise BadFile(f"{path}: line 1: no id column {id_column!r} in the header")
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise BadFile(f"{path}: line {start}: not CSV: {error}") from None
            except csv.Error as error:
                # The reader starts afresh on the next line: reject this record, carry on.
                yield Rejected(start, f"line {start}: not CSV: {csv_fault(error)}")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not cells:
                continue
            if len(cells) != len(header):
                yield Rejected(
                    line, f"line {line}: {len(cells)} fields, the header has {len(header)}"
                )
                continue
            yield item_of(dict(zip(header, cells, strict=True)), line, columns, id_column=id_column)


# JSON Lines


def read_jsonl(path: Path, columns: Columns) -> Iterator[Record]:
    with path.open("rb") as handle:
        for line, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
            except UnicodeDecodeError as error:
                yield Rejected(line, f"line {line}, byte {error.start + 1}: not UTF-8 text")
                continue
            if not text.strip():
                continue
            try:
                record = json.loads(text.rstrip("\r\n"))
            except ValueError as error:
                where = f"line {line}"
                if isinstance(error, json.JSONDecodeError):
                    where += f", column {error.colno}"
                    error_text = error.msg
                else:
                    error_text = str(error)
                yield Rejected(line, f"{where}: not JSON: {error_text}")
                continue
            if not isinstance(record, dict):
                yield Rejected(line, f"line {line}: a {type(record).__name__}, not a JSON object")
                continue
            yield item_of(record, line, columns, id_column=columns.id_of(list(record)))


# Parquet


def read_parquet(path: Path, columns: Columns, batch_rows: int = 1000) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        raise BadFile(f"{path}: not a Parquet file: {error}") from None
    schema = parquet.schema_arrow
    names = list(schema.names)
    if columns.text in names:
        kind = schema.field(columns.text).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise BadFile(f"{path}: column {columns.text!r}: {kind}, not a string")
    elif VECTOR_COLUMN in names:
        kind = schema.field(VECTOR_COLUMN).type
        if not (
            (pa.types.is_list(kind) or pa.types.is_large_list(kind))
            and (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type))
        ):
            raise BadFile(f"{path}: column {VECTOR_COLUMN!r}: {kind}, not a list of numbers")
    elif IMAGE_COLUMN in names:
        kind = schema.field(IMAGE_COLUMN).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise BadFile(f"{path}: column {IMAGE_COLUMN!r}: {kind}, not a string")
    else:
        raise BadFile(
            f"{path}: no column {columns.text!r} (nor {VECTOR_COLUMN!r} or {IMAGE_COLUMN!r}); "
            f"the columns are {', '.join(repr(n) for n in names)}"
        )
    id_column = columns.id_of(names)
    if id_column is not None:
        if id_column not in names:
            raise BadFile(f"{path}: no id column {id_column!r}")
        kind = schema.field(id_column).type
        if not (
            pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
        ):
            raise BadFile(f"{path}: column {id_column!r}: {kind}, not a string or an integer")
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        for record in batch.to_pylist():
            row += 1
            yield item_of(record, row, columns, id_column=id_column)


# Label Studio task JSON


def _positions(text: str) -> list[int]:
    """Offsets at which each line of `text` starts."""
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def _line(starts: list[int], offset: int) -> int:
    return bisect.bisect_right(starts, offset)


def _where(starts: list[int], offset: int) -> str:
    line = _line(starts, offset)
    return f"line {line}, column {offset - starts[line - 1] + 1}"


def _tasks(path: Path, text: str) -> Iterator[tuple[int, str, Any]]:
    """(line, position, task) of each element of the top-level JSON array."""
    decoder = json.JSONDecoder()
    starts = _positions(text)
    whitespace = re.compile(r"[ \t\n\r]*")

    def skip(at: int) -> int:
        match = whitespace.match(text, at)
        return match.end() if match else at

    def fail(at: int, message: str) -> BadFile:
        return BadFile(f"{path}: {_where(starts, at)}: {message}")

    at = skip(0)
    if at < len(text) and text[at] == "\ufeff":
        at = skip(at + 1)
    if at >= len(text) or text[at] != "[":
        if at < len(text) and text[at] == "{":
            raise fail(at, "a JSON object; a Label Studio export is a JSON array of tasks")
        raise fail(at, "not a JSON array of Label Studio tasks")
    at = skip(at + 1)
    if at < len(text) and text[at] == "]":
        return
    while True:
        try:
            task, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as error:
            raise fail(error.pos, f"not JSON: {error.msg}") from None
        yield _line(starts, at), _where(starts, at), task
        at = skip(end)
        if at < len(text) and text[at] == ",":
            at = skip(at + 1)
            continue
        if at < len(text) and text[at] == "]":
            if skip(at + 1) != len(text):
                raise fail(skip(at + 1), "text after the end of the array")
            return
        raise fail(at, "expected ',' or ']' after a task")


def _choices(results: Any) -> list[str] | None:
    """The choices of the first `choices` result of a Label Studio result list whose first
    choice is a label (several on a multi-label task), if any."""
    if not isinstance(results, list):
        return None
    for result in results:
        if isinstance(result, dict) and isinstance(result.get("value"), dict):
            choices = result["value"].get("choices")
            if isinstance(choices, list) and choices and isinstance(choices[0], str):
                return [c for c in choices if isinstance(c, str)]
    return None


def _choice(results: Any) -> str | None:
    """The first choice of a Label Studio result list, if any."""
    choices = _choices(results)
    return choices[0] if choices else None


def _span_results(results: Any) -> list[dict[str, Any]] | None:
    """The entity spans of a Label Studio result list (results of type `labels` with a
    `start` and an `end`), each `{start, end, label, score}` (score None if not given); None
    if it has none."""
    if not isinstance(results, list):
        return None
    spans = []
    for result in results:
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, dict) or result.get("type") != "labels":
            continue
        start, end, names = value.get("start"), value.get("end"), value.get("labels")
        if not (isinstance(names, list) and names and isinstance(names[0], str)):
            continue
        if isinstance(start, int) and isinstance(end, int):
            score = result.get("score")
            score = float(score) if isinstance(score, int | float) else None
            spans.append({"start": start, "end": end, "label": names[0], "score": score})
    return spans or None


def _spans_text(spans: list[dict[str, Any]]) -> str:
    """Spans as metadata text: `start:end:label` joined by '|', in the file's order."""
    return "|".join(f"{s['start']}:{s['end']}:{s['label']}" for s in spans)


def _span_prediction(
    entry: dict[str, Any], spans: list[dict[str, Any]], labels: list[str] | None
) -> ClientPrediction | str | None:
    """A Label Studio span prediction as the client's prediction: each span's confidence is
    its result's `score`, else the prediction's; the prediction's `score` is the confidence
    that no entity is missing. None (kept as metadata) without the label set or the
    prediction's score; the reason, if the spans do not make a prediction."""
    score = entry.get("score")
    if labels is None or len(labels) < 2 or not isinstance(score, int | float):
        return None
    for span in spans:
        if span["label"] not in labels:
            return (
                f"prediction span label {span['label']!r} is not one of the dataset's "
                f"labels {labels}"
            )
    try:
        return ClientPrediction.model_validate(
            {
                "model_id": model_id(entry.get("model_version")),
                "labels": list(labels),
                "spans": [
                    {
                        "start": s["start"],
                        "end": s["end"],
                        "label": s["label"],
                        "confidence": float(score) if s["score"] is None else s["score"],
                    }
                    for s in spans
                ],
                "spans_complete": float(score),
            }
        )
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        return f"prediction spans: {where + ': ' if where else ''}{problem['msg']}"


def spread(label: str, score: float, labels: list[str]) -> list[float]:
    """A distribution over `labels` with `label` at `score` (at least 1/n) and the rest even."""
    n = len(labels)
    top = min(max(score, 1.0 / n), 1.0)
    rest = (1.0 - top) / (n - 1)
    return [top if candidate == label else rest for candidate in labels]


def model_id(model_version: Any) -> str:
    """A model version as a client model id: mitl's `client:` prefix dropped (ingest adds it
    back), characters a model id may not hold replaced."""
    text = str(model_version) if model_version not in (None, "") else "label-studio"
    text = text.removeprefix("client:")
    return MODEL_ID.sub("-", text)[:NAME_MAX_LENGTH] or "label-studio"


def read_label_studio(path: Path, columns: Columns, labels: list[str] | None) -> Iterator[Record]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise BadFile(f"{path}: byte {error.start}: not UTF-8 text") from None
    # The whole file is checked before the first task is yielded: a file that is not Label
    # Studio's sends nothing.
    tasks = list(_tasks(path, text))
    for number, (_, where, task) in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise BadFile(
                f"{path}: {where}: task {number} is not a Label Studio task "
                "(an object with a 'data' object)"
            )
        for key in ("predictions", "annotations"):
            if key in task and not isinstance(task[key], list):
                raise BadFile(f"{path}: {where}: task {number}: {key!r} is not a list")
    for line, _, task in tasks:
        yield _task_record(task, line, columns, labels)


def _task_record(
    task: dict[str, Any], line: int, columns: Columns, labels: list[str] | None
) -> Record:
    data: dict[str, Any] = task["data"]
    mitl = task.get("meta", {}).get("mitl") if isinstance(task.get("meta"), dict) else None
    extra: dict[str, str] = {}
    skip: tuple[str, ...] = ()
    if isinstance(mitl, dict):
        skip = MITL_DATA_KEYS
        if isinstance(mitl.get("metadata"), dict):
            extra.update({str(k): _text(v) for k, v in mitl["metadata"].items()})
    annotations = [
        a for a in task.get("annotations", []) if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if annotations and (annotated := _choices(annotations[-1].get("result"))) is not None:
        # A multi-label annotation keeps every choice, joined as mitl joins a label set.
        extra["ls_annotation"] = "|".join(annotated)
    elif annotations and (marked := _span_results(annotations[-1].get("result"))) is not None:
        extra["ls_annotation"] = _spans_text(marked)
    prediction = None
    predictions = [p for p in task.get("predictions", []) if isinstance(p, dict)]
    found = next(((p, c) for p in predictions if (c := _choice(p.get("result"))) is not None), None)
    tagged = next(
        ((p, r) for p in predictions if (r := _span_results(p.get("result"))) is not None), None
    )
    if found is None and tagged is not None:
        entry, results = tagged
        spanned = _span_prediction(entry, results, labels)
        if isinstance(spanned, str):
            return Rejected(line, f"line {line}: {spanned}")
        if spanned is None:
            extra["ls_prediction"] = _spans_text(results)
            extra["ls_model_version"] = str(entry.get("model_version") or "")
        prediction = spanned
    if found is not None:
        entry, label = found
        score = entry.get("score")
        if labels is not None and isinstance(score, int | float) and len(labels) >= 2:
            if label not in labels:
                return Rejected(
                    line,
                    f"line {line}: prediction label {label!r} is not one of the dataset's "
                    f"labels {labels}",
                )
            prediction = ClientPrediction(
                model_id=model_id(entry.get("model_version")),
                labels=list(labels),
                probabilities=spread(label, float(score), labels),
            )
        else:
            extra["ls_prediction"] = label
            extra["ls_model_version"] = str(entry.get("model_version") or "")
    return item_of(
        data,
        line,
        columns,
        id_column=columns.id_of(list(data)),
        extra_metadata=extra,
        prediction=prediction,
        skip=skip,
    )


# Folders of images


def folder_images(path: Path) -> list[Path]:
    """The files of a folder and of its subfolders (one level), in name order."""
    top = sorted(p for p in path.iterdir() if p.is_file())
    inner = sorted(p for d in path.iterdir() if d.is_dir() for p in d.iterdir() if p.is_file())
    return top + inner


def read_folder(path: Path, columns: Columns) -> Iterator[Record]:
    """Each image of the folder as an item with its path for an id; one in a subfolder
    carries the subfolder's name as metadata `label`."""
    for n, file in enumerate(folder_images(path), start=1):
        name = file.relative_to(path).as_posix()
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            yield Rejected(n, f"{name}: not an image file ({', '.join(IMAGE_SUFFIXES)})", name)
            continue
        record = {"id": name, IMAGE_COLUMN: name}
        if file.parent != path:
            record[FOLDER_LABEL_KEY] = file.parent.name
        yield item_of(record, n, columns, id_column="id", where=name)


def read(
    path: Path,
    kind: Kind | None = None,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    labels: list[str] | None = None,
) -> Iterator[Record]:
    """The records of `path` (kind from its suffix unless given), lazily; BadFile when the file
    is not what it claims: before the first record (a Label Studio file is checked whole), or
    at the first CSV record that is not CSV at all."""
    path = Path(path)
    chosen = kind or kind_of(path)
    if chosen == "folder":
        if not path.is_dir():
            raise BadFile(f"{path}: not a folder")
        return read_folder(path, Columns(text_column, root=path))
    columns = Columns(text_column, id_column, root=path.parent)
    if chosen == "csv":
        return read_csv(path, columns)
    if chosen == "jsonl":
        return read_jsonl(path, columns)
    if chosen == "parquet":
        return read_parquet(path, columns)
    return read_label_studio(path, columns, labels)


def count(path: Path, kind: Kind | None = None) -> int | None:
    """About how many records `path` holds (for a progress bar), None if unknown."""
    chosen = kind or kind_of(path)
    try:
        if chosen == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if chosen == "label-studio":
            return None
        if chosen == "folder":
            return len(folder_images(path))
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
        return max(lines - 1, 0) if chosen == "csv" else lines
    except Exception:
        return None
