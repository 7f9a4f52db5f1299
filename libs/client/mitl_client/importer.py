"""Importing a file into a dataset through ingest: `import_file(client, path, dataset)` reads
it (`files.read`), ingests the items in batches and writes every record it could not take to a
rejects file (JSON Lines: `line`, `reason`, `external_id`), whether the reader refused it or
ingest did; the rest carry on. Running it again on the same file adds nothing twice: item ids
come from an id column or the content, and ingest answers an id it has as a duplicate."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mitl_contracts.api import IngestResponse

from mitl_client.client import DEFAULT_BATCH, DEFAULT_CONCURRENCY, MitlClient
from mitl_client.files import Kind, Rejected, Row, kind_of, read
from mitl_client.models import Item


@dataclass
class ImportResult:
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_path: Path | None = None

    @property
    def taken(self) -> int:
        return self.accepted + self.duplicates


Progress = Callable[[ImportResult], None]


def default_batch_id(path: Path) -> str:
    """`import-` and the file's (or folder's) name: the ingest batch (and export `batch`) of
    its items."""
    return ("import-" + re.sub(r"[^A-Za-z0-9_.\-]", "-", named(path).name))[:100]


def named(path: Path) -> Path:
    """`path` itself, or resolved where it has no name of its own (`.`)."""
    return path if path.name else path.resolve()


def rejects_path_for(path: Path) -> Path:
    path = named(path)
    return path.with_name(path.name + ".rejects.jsonl")


class _Rejects:
    """The rejects file, opened on the first reject (no file when nothing is rejected)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def write(self, line: int, reason: str, external_id: str | None) -> None:
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8")
        record = {"line": line, "reason": reason, "external_id": external_id}
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> bool:
        """Close; whether anything was written. A stale rejects file of an earlier run is
        removed when this run rejects nothing."""
        if self._handle is None:
            self.path.unlink(missing_ok=True)
            return False
        self._handle.close()
        return True


def import_file(
    client: MitlClient,
    path: str | Path,
    dataset: str,
    *,
    kind: Kind | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    labels: list[str] | None = None,
    rejects: str | Path | None = None,
    batch_id: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
) -> ImportResult:
    """Import `path` into `dataset` (see the module docstring). `labels`, the dataset's label
    set, turns Label Studio predictions into client predictions. Raises files.BadFile when the
    file is not what it claims, client errors when ingest cannot be reached or refuses the
    dataset."""
    path = Path(path)
    folder = (kind or kind_of(path)) == "folder"
    result = ImportResult()
    sink = _Rejects(Path(rejects) if rejects is not None else rejects_path_for(path))
    lines: dict[str, list[int]] = {}

    def reject(line: int, reason: str, external_id: str | None) -> None:
        result.rejected += 1
        sink.write(line, reason, external_id)

    def items() -> Iterator[Item]:
        for record in read(path, kind, text_column=text_column, id_column=id_column, labels=labels):
            result.records += 1
            if isinstance(record, Rejected):
                reject(record.line, record.reason, record.external_id)
                if progress is not None:
                    progress(result)
                continue
            assert isinstance(record, Row)
            lines.setdefault(record.item.external_id, []).append(record.line)
            yield record.item

    def on_batch(sent: list[Item], response: IngestResponse) -> None:
        for outcome in response.items:
            item = sent[outcome.index]
            waiting = lines.get(item.external_id, [])
            line = waiting.pop(0) if waiting else 0
            if not waiting:
                lines.pop(item.external_id, None)
            if outcome.status == "accepted":
                result.accepted += 1
            elif outcome.status == "duplicate":
                result.duplicates += 1
            else:
                # A folder's record is a file, named by its id (files.read_folder).
                where = item.external_id if folder else f"line {line}"
                reject(line, f"{where}: ingest: {outcome.reason}", item.external_id)
        if progress is not None:
            progress(result)

    try:
        client.ingest_many(
            dataset,
            items(),
            batch_id=batch_id or default_batch_id(path),
            batch_size=batch_size,
            concurrency=concurrency,
            on_batch=on_batch,
        )
    finally:
        if sink.close():
            result.rejects_path = sink.path
    return result
