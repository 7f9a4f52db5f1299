"""An export encoder that writes one JSON array a chunk of rows at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class JsonArrayEncoder:
    """A JSON array with one element per row (`element` turns a row into its JSON text),
    written a chunk at a time: one element a line, `[]` when there are none."""

    def __init__(self, element: Callable[[dict[str, Any]], str]) -> None:
        self._element = element
        self._first = True

    def begin(self) -> bytes:
        return b"["

    def rows(self, rows: list[dict[str, Any]]) -> bytes:
        parts = []
        for row in rows:
            parts.append(("\n" if self._first else ",\n") + self._element(row))
            self._first = False
        return "".join(parts).encode("utf-8")

    def end(self) -> bytes:
        return b"]\n" if self._first else b"\n]\n"
