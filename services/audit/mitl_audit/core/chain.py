"""The hash chain over the audit log. Pure: no I/O.

Each row's `row_hash` is sha256(prev_hash || canonical JSON of its content), where content is
every column except the two hashes, and `prev_hash` is the previous row's `row_hash` (GENESIS
for the first row). Seqs are contiguous from 1. So a changed column, a deleted row and a row
slipped into the sequence each leave a mark `ChainVerifier` finds; a superuser who deletes the
newest rows leaves none, which is why the head seq is exported as a metric to compare against.

Canonical JSON must come out the same for a row built in memory and the same row read back
from Postgres, whose jsonb rewrites numbers (1e-07 as 0.0000001), drops key order and cannot
hold -0: so keys are sorted and numbers are written as exact digits and exponent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from mitl_audit.core.entries import ENTRY_FIELDS, LATER_FIELDS, Entry, as_utc

GENESIS = "0" * 64


@dataclass(frozen=True)
class Head:
    """The last row of the chain: where the next row links to."""

    seq: int = 0
    row_hash: str = GENESIS


@dataclass(frozen=True)
class Row:
    """A log row as stored."""

    seq: int
    recorded_at: datetime
    entry: Entry
    prev_hash: str
    row_hash: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Row:
        """A row from a database record holding every column of audit.log."""
        entry = Entry(**{name: record[name] for name in ENTRY_FIELDS})
        return cls(
            seq=record["seq"],
            recorded_at=record["recorded_at"],
            entry=entry,
            prev_hash=record["prev_hash"],
            row_hash=record["row_hash"],
        )

    def columns(self) -> dict[str, Any]:
        """Every column, named as in audit.log."""
        return {f.name: getattr(self.entry, f.name) for f in fields(self.entry)} | {
            "seq": self.seq,
            "recorded_at": self.recorded_at,
            "prev_hash": self.prev_hash,
            "row_hash": self.row_hash,
        }


def number(value: Decimal) -> str:
    """Exact and unique: 1, 1.0, 1e0 and 10e-1 all come out as `1e0`."""
    if not value.is_finite():
        return str(value)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, so not 'n', 'N' or 'F'
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if kept == [0]:
        return "0"
    return f"{'-' if sign else ''}{''.join(map(str, kept))}e{exponent}"


def canonical(value: Any) -> str:
    """Deterministic JSON text of `value` (sorted keys, exact numbers, UTC timestamps)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return number(Decimal(value))
    if isinstance(value, float):
        return number(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, datetime):
        return json.dumps(as_utc(value).isoformat(timespec="microseconds"))
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    raise TypeError(f"no canonical JSON for {type(value).__name__}")


def content(seq: int, recorded_at: datetime, entry: Entry) -> str:
    """Canonical JSON of a row's content fields: every column but prev_hash and row_hash (a
    column added later only when it is set: entries.LATER_FIELDS)."""
    columns = {
        name: getattr(entry, name)
        for name in ENTRY_FIELDS
        if name not in LATER_FIELDS or getattr(entry, name) is not None
    }
    columns["payload"] = json.loads(entry.payload, parse_float=Decimal, parse_int=Decimal)
    columns["seq"] = seq
    columns["recorded_at"] = recorded_at
    return canonical(columns)


def row_hash(prev_hash: str, seq: int, recorded_at: datetime, entry: Entry) -> str:
    data = prev_hash + content(seq, recorded_at, entry)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def seal(entries: Iterable[Entry], head: Head, recorded_at: datetime) -> list[Row]:
    """Chain `entries` after `head`, in order: seqs head.seq+1, head.seq+2, ..."""
    rows: list[Row] = []
    prev, seq = head.row_hash, head.seq
    for entry in entries:
        seq += 1
        digest = row_hash(prev, seq, recorded_at, entry)
        rows.append(Row(seq, recorded_at, entry, prev, digest))
        prev = digest
    return rows


Problem = Literal["altered", "removed", "out_of_order", "broken_link"]


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold: `seq` names the row, `detail` says why."""

    seq: int
    problem: Problem
    detail: str


class ChainVerifier:
    """Checks rows one at a time, in the order read (which must be seq order), so that a log
    of any length can be streamed through it. Stops at the first break."""

    def __init__(self) -> None:
        self.head = Head()
        self.rows = 0
        self.broken: Break | None = None

    def feed(self, row: Row) -> Break | None:
        if self.broken is None:
            self.broken = self._check(row)
            if self.broken is None:
                self.head = Head(row.seq, row.row_hash)
                self.rows += 1
        return self.broken

    def _check(self, row: Row) -> Break | None:
        last = self.head.seq
        if row.seq <= last:
            return Break(row.seq, "out_of_order", f"row {row.seq} comes after row {last}")
        if row.seq > last + 1:
            missing = (
                f"row {last + 1}" if row.seq == last + 2 else f"rows {last + 1}..{row.seq - 1}"
            )
            return Break(
                last + 1, "removed", f"{missing} removed: seq jumps from {last} to {row.seq}"
            )
        if row_hash(row.prev_hash, row.seq, row.recorded_at, row.entry) != row.row_hash:
            return Break(
                row.seq, "altered", f"row {row.seq} altered: content does not match its hash"
            )
        if row.prev_hash != self.head.row_hash:
            previous = f"row {last}'s hash" if last else "the chain's start"
            return Break(
                row.seq,
                "broken_link",
                f"row {row.seq} does not link to {previous}: inserted out of order or re-hashed",
            )
        return None


@dataclass(frozen=True)
class Verdict:
    rows: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(rows: Iterable[Row]) -> Verdict:
    """Walk `rows` in the order given; the verdict names the first break, if any."""
    verifier = ChainVerifier()
    for row in rows:
        if verifier.feed(row):
            break
    return Verdict(verifier.rows, verifier.broken)
