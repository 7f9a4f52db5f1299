"""The hash chain: sealing, canonical content, and verification catching every kind of edit."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitl_audit.core import chain
from mitl_audit.core.chain import GENESIS, Head, Row, canonical, seal, verify
from mitl_audit.core.entries import entry_for
from mitl_contracts.events import Decision, DriftAlert, Label

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(n: int) -> Label | Decision:
    if n % 2:
        return Decision(
            event_id=f"d-{n}",
            dataset="d",
            item_id=f"i-{n}",
            prediction_event_id=f"p-{n}",
            route="accept",
            reason="confident",
            predicted_label="A",
            confidence=0.9 + n / 1000,
            model_version="m1",
            policy_version="p1",
            occurred_at=AT,
        )
    return Label(
        event_id=f"l-{n}",
        dataset="d",
        item_id=f"i-{n}",
        label="B",
        source="annotator",
        action="correct",
        annotator="ada",
        suggested_label="A",
        model_version="m1",
        occurred_at=AT,
    )


def log(n: int) -> list[Row]:
    return seal([entry_for(event(i)) for i in range(n)], Head(), AT)


def rehash(row: Row, prev_hash: str | None = None, **changes: object) -> Row:
    """`row` edited by someone who knows the algorithm and recomputes its own hash."""
    entry = dataclasses.replace(row.entry, **changes)
    prev = row.prev_hash if prev_hash is None else prev_hash
    digest = chain.row_hash(prev, row.seq, row.recorded_at, entry)
    return dataclasses.replace(row, entry=entry, prev_hash=prev, row_hash=digest)


def test_sealed_rows_are_numbered_from_the_head_and_linked() -> None:
    rows = log(4)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))
    more = seal([entry_for(event(9))], Head(4, rows[-1].row_hash), AT)
    assert more[0].seq == 5 and more[0].prev_hash == rows[-1].row_hash
    assert verify([*rows, *more]).ok and verify([*rows, *more]).rows == 5


def test_the_same_rows_always_hash_the_same() -> None:
    assert log(3) == log(3)


def test_an_empty_log_verifies() -> None:
    assert verify([]) == chain.Verdict(0, None)


def test_numbers_are_canonical_whatever_their_spelling() -> None:
    spellings = [1, 1.0, Decimal("1"), Decimal("1.000"), Decimal("10E-1")]
    assert {canonical(x) for x in spellings} == {"1e0"}
    assert canonical(Decimal("-0.0")) == canonical(0) == "0"
    assert canonical(1e-7) == canonical(Decimal("0.0000001")) == "1e-7"
    assert canonical(0.1) != canonical(0.10000000000000002)
    assert canonical(10**30 + 1) == "1000000000000000000000000000001e0"
    assert canonical(True) == "true" and canonical(None) == "null"


def test_content_survives_what_jsonb_does_to_a_payload() -> None:
    entry = entry_for(
        DriftAlert(
            event_id="drift-1",
            dataset="d",
            model_version="m",
            state="alert",
            statistic="psi",
            value=1e-7,
            threshold=0.25,
            window_size=10,
            reference_size=20,
            details={"b": -0.0, "a": [1.5, 100], "é": "ü"},
        )
    )
    # jsonb stores keys in its own order and numbers as numeric: 1e-07 comes back 0.0000001.
    data = json.loads(entry.payload)
    stored = json.dumps(dict(reversed(list(data.items()))), ensure_ascii=True)
    stored = stored.replace("1e-07", "0.0000001").replace("-0.0", "0").replace("100", "100.0")
    assert stored != entry.payload
    back = dataclasses.replace(entry, payload=stored)
    assert chain.content(1, AT, back) == chain.content(1, AT, entry)


def test_timestamps_hash_by_instant_not_by_zone() -> None:
    entry = entry_for(event(0))
    elsewhere = AT.astimezone(timezone(timedelta(hours=-5)))
    moved = dataclasses.replace(entry, occurred_at=entry.occurred_at.astimezone(elsewhere.tzinfo))
    assert chain.row_hash(GENESIS, 1, elsewhere, moved) == chain.row_hash(GENESIS, 1, AT, entry)


@pytest.mark.parametrize(
    "change",
    [
        {"label": "C"},
        {"is_override": False},
        {"annotator": "mallory"},
        {"confidence": 0.5},
        {"occurred_at": AT + timedelta(microseconds=1)},
        {"payload": '{"event_id":"forged"}'},
        {"guideline_version": 7},
    ],
)
def test_an_altered_column_is_named_by_seq(change: dict[str, object]) -> None:
    rows = log(5)
    field = next(iter(change))
    target = 3 if field != "confidence" else 2  # confidence exists on decisions (odd events)
    rows[target - 1] = dataclasses.replace(
        rows[target - 1], entry=dataclasses.replace(rows[target - 1].entry, **change)
    )
    verdict = verify(rows)
    assert verdict.broken == chain.Break(
        target, "altered", f"row {target} altered: content does not match its hash"
    )
    assert verdict.rows == target - 1


def test_an_altered_seq_or_time_is_caught() -> None:
    rows = log(3)
    rows[1] = dataclasses.replace(rows[1], recorded_at=AT + timedelta(seconds=1))
    assert verify(rows).broken == chain.Break(
        2, "altered", "row 2 altered: content does not match its hash"
    )


def test_a_rehashed_row_breaks_the_link_of_the_next() -> None:
    rows = log(4)
    rows[1] = rehash(rows[1], label="Z")
    broken = verify(rows).broken
    assert broken is not None and (broken.seq, broken.problem) == (3, "broken_link")
    assert "row 3 does not link to row 2's hash" in broken.detail


@pytest.mark.parametrize(("removed", "detail"), [([2], "row 3 removed"), ([2, 3], "rows 3..4")])
def test_removed_rows_are_named(removed: list[int], detail: str) -> None:
    rows = [r for i, r in enumerate(log(6)) if i not in removed]
    broken = verify(rows).broken
    assert broken is not None and (broken.seq, broken.problem) == (3, "removed")
    assert detail in broken.detail


def test_removing_the_first_row_is_caught() -> None:
    broken = verify(log(3)[1:]).broken
    assert broken is not None and (broken.seq, broken.problem) == (1, "removed")


def test_rows_read_out_of_order_are_caught() -> None:
    rows = log(4)
    rows[1], rows[2] = rows[2], rows[1]
    broken = verify(rows).broken
    assert broken is not None and broken.problem == "removed" and broken.seq == 2
    rows = log(4)
    broken = verify([rows[0], rows[1], rows[0], rows[2]]).broken
    assert broken == chain.Break(1, "out_of_order", "row 1 comes after row 2")


def test_swapped_seqs_are_caught_as_altered() -> None:
    rows = log(4)
    rows[1], rows[2] = (
        dataclasses.replace(rows[2], seq=2),
        dataclasses.replace(rows[1], seq=3),
    )
    broken = verify(rows).broken
    assert broken is not None and (broken.seq, broken.problem) == (2, "altered")


def test_a_row_inserted_out_of_order_does_not_link() -> None:
    rows = log(3)
    forged = seal([entry_for(event(7))], Head(3, GENESIS), AT)
    broken = verify([*rows, *forged]).broken
    assert broken is not None and (broken.seq, broken.problem) == (4, "broken_link")
    # A forged first row that does not start from GENESIS.
    first = rehash(log(1)[0], prev_hash="f" * 64)
    broken = verify([first]).broken
    assert broken is not None and "does not link to the chain's start" in broken.detail


def test_verifier_stops_at_the_first_break() -> None:
    rows = log(5)
    rows[1] = dataclasses.replace(rows[1], row_hash="0" * 64)
    rows[3] = dataclasses.replace(rows[3], row_hash="0" * 64)
    verifier = chain.ChainVerifier()
    breaks = [verifier.feed(r) for r in rows]
    assert breaks[0] is None and all(b == breaks[1] for b in breaks[1:])
    assert verifier.rows == 1 and verifier.broken is not None and verifier.broken.seq == 2


@given(
    n=st.integers(min_value=2, max_value=12),
    data=st.data(),
)
def test_any_single_edit_is_found_at_its_row(n: int, data: st.DataObject) -> None:
    rows = log(n)
    target = data.draw(st.integers(min_value=1, max_value=n))
    text = data.draw(st.text(min_size=1, max_size=20))
    edited = dataclasses.replace(
        rows[target - 1].entry, item_id=rows[target - 1].entry.item_id + text
    )
    rows[target - 1] = dataclasses.replace(rows[target - 1], entry=edited)
    broken = verify(rows).broken
    assert broken is not None and broken.seq == target and broken.problem == "altered"


@given(n=st.integers(min_value=2, max_value=12), data=st.data())
def test_any_removed_row_but_the_last_is_found(n: int, data: st.DataObject) -> None:
    rows = log(n)
    gone = data.draw(st.integers(min_value=1, max_value=n - 1))
    broken = verify([r for r in rows if r.seq != gone]).broken
    assert broken is not None and broken.seq == gone and broken.problem == "removed"


def test_row_columns_and_records_round_trip() -> None:
    row = log(2)[1]
    assert Row.from_record(row.columns()) == row


def test_rows_chained_before_the_guideline_column_still_verify() -> None:
    """A row sealed before audit.log had guideline_version (or span_changes) hashed its
    content without the key; read back today it has the column, null, and must verify
    unchanged."""
    entry = entry_for(event(0))
    assert entry.guideline_version is None and entry.span_changes is None
    old_columns = {name: getattr(entry, name) for name in dataclasses.asdict(entry)}
    del old_columns["guideline_version"], old_columns["span_changes"]
    old_columns["payload"] = json.loads(entry.payload, parse_float=Decimal, parse_int=Decimal)
    old_columns["seq"], old_columns["recorded_at"] = 1, AT
    old_hash = hashlib.sha256((GENESIS + canonical(old_columns)).encode()).hexdigest()
    assert verify([Row(1, AT, entry, GENESIS, old_hash)]).ok


def test_a_label_keeps_its_guideline_version_in_its_column_and_hash() -> None:
    label = event(0)
    assert isinstance(label, Label)
    guided = entry_for(label.model_copy(update={"guideline_version": 2}))
    assert guided.guideline_version == 2
    assert json.loads(guided.payload)["guideline_version"] == 2
    unguided = dataclasses.replace(guided, guideline_version=None)
    assert chain.row_hash(GENESIS, 1, AT, guided) != chain.row_hash(GENESIS, 1, AT, unguided)
    assert verify(seal([guided], Head(), AT)).ok
