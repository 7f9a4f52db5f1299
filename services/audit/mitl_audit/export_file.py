"""Writing an export file all or nothing: rows go to a temporary file next to the target, which
is renamed onto the target only once complete and flushed to disk. A failure at any point
leaves no partial file (and an existing target untouched)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pyarrow.parquet as pq

from mitl_audit.core.export import ARROW_SCHEMA, Format, arrow_table, jsonl_lines
from mitl_audit.core.export_formats import Encoder, encoder


class ExportPathError(OSError):
    """The export cannot be written where asked; the message names the path and the reason."""


class ExportFile:
    """`with ExportFile(path, format) as out: out.write(rows)...` writes `path` atomically.

    Raises ExportPathError on entering if `path` cannot be written (its folder is missing or
    not writable, or it is a folder), and on exit if the file cannot be completed."""

    def __init__(self, path: Path, format: Format) -> None:
        self.path = Path(path)
        self.format = format
        self.rows = 0
        self._temporary: Path | None = None
        self._handle: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._encoder: Encoder | None = None

    def __enter__(self) -> ExportFile:
        if self.path.is_dir():
            raise ExportPathError(f"cannot write the export to {self.path}: it is a directory")
        try:
            descriptor, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent
            )
        except OSError as error:
            raise ExportPathError(
                f"cannot write the export to {self.path}: {error.strerror or error}"
            ) from None
        self._temporary = Path(name)
        self._handle = os.fdopen(descriptor, "wb")
        if self.format == "parquet":
            self._parquet = pq.ParquetWriter(self._handle, ARROW_SCHEMA)
        elif self.format != "jsonl":
            self._encoder = encoder(self.format)
            self._handle.write(self._encoder.begin())
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append `rows` (export rows, see export.export_row); one Parquet row group each call."""
        assert self._handle is not None, "write inside the with block"
        if not rows:
            return
        if self._parquet is not None:
            self._parquet.write_table(arrow_table(rows))
        elif self._encoder is not None:
            self._handle.write(self._encoder.rows(rows))
        else:
            self._handle.write(jsonl_lines(rows).encode("utf-8"))
        self.rows += len(rows)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._handle is not None and self._temporary is not None
        try:
            if self._parquet is not None:
                self._parquet.close()
            if self._encoder is not None and kind is None:
                self._handle.write(self._encoder.end())
            if kind is None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
            if kind is None:
                os.replace(self._temporary, self.path)
        except OSError as failure:
            self._temporary.unlink(missing_ok=True)
            raise ExportPathError(
                f"cannot write the export to {self.path}: {failure.strerror or failure}"
            ) from None
        finally:
            if kind is not None:
                self._temporary.unlink(missing_ok=True)
