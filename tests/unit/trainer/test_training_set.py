"""Which label counts per item, the holdout/train sides, pseudo-labels and the data digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mitl_trainer.core.split import in_holdout
from mitl_trainer.core.training_set import LabelRow, build

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def row(
    item: str, label: str, source: str = "annotator", minutes: int = 0, seq: int = 0
) -> LabelRow:
    return LabelRow(item, label, source, T0 + timedelta(minutes=minutes), seq)


def items(n: int) -> dict[str, str]:
    return {f"i{k}": f"Question {k} ?" for k in range(n)}


def test_the_latest_human_label_counts_and_beats_the_model() -> None:
    rows = [
        row("i1", "HUM", "model", minutes=0),
        row("i1", "LOC", "annotator", minutes=1, seq=1),
        row("i1", "NUM", "expert", minutes=2, seq=2),
        # Same time: the one stored later wins.
        row("i2", "HUM", minutes=5, seq=3),
        row("i2", "DESC", minutes=5, seq=4),
    ]
    built = build("d", rows, items(3), holdout_fraction=0.01)
    labels = {e.item_id: e.label for e in built.train + built.holdout}
    assert labels == {"i1": "NUM", "i2": "DESC"}
    assert built.verified == 2 and built.labels_until == T0 + timedelta(minutes=5)


def test_held_out_items_only_evaluate_and_items_without_text_are_counted() -> None:
    rows = [row(f"i{k}", "HUM" if k % 2 else "LOC", seq=k) for k in range(300)]
    built = build("d", rows, items(250), holdout_fraction=0.2)
    assert built.without_text == 50 and built.verified == 250
    held = {e.item_id for e in built.holdout}
    assert held == {f"i{k}" for k in range(250) if in_holdout("d", f"i{k}", 0.2)}
    assert not held & {e.item_id for e in built.train}
    assert sum(built.class_counts.values()) == len(built.train) == 250 - len(held)
    assert [e.item_id for e in built.train] == sorted(e.item_id for e in built.train)


def test_pseudo_labels_train_with_a_lower_weight_only_when_enabled() -> None:
    rows = [row("i0", "HUM", seq=0), row("i1", "LOC", "model", seq=1), row("i0", "NUM", "model")]
    without = build("d", rows, items(2), holdout_fraction=0.01)
    assert [e.item_id for e in without.train] == ["i0"] and without.pseudo_weight is None
    with_pseudo = build("d", rows, items(2), holdout_fraction=0.01, pseudo_weight=0.3)
    assert [(e.item_id, e.label, e.weight) for e in with_pseudo.train] == [
        ("i0", "HUM", 1.0),
        ("i1", "LOC", 0.3),
    ]
    assert [e.item_id for e in with_pseudo.pseudo_train] == ["i1"]
    # Pseudo-labels never count as verified.
    assert with_pseudo.verified == 1


def test_the_digest_changes_with_the_data_and_the_seed_only() -> None:
    rows = [row(f"i{k}", "HUM", seq=k) for k in range(20)]
    one = build("d", rows, items(20), holdout_fraction=0.2)
    again = build("d", list(reversed(rows)), items(20), holdout_fraction=0.2)
    assert one.digest(0) == again.digest(0)
    assert one.digest(0) != one.digest(1)
    relabeled = build(
        "d", [*rows, row("i3", "LOC", minutes=9, seq=99)], items(20), holdout_fraction=0.2
    )
    assert relabeled.digest(0) != one.digest(0)
