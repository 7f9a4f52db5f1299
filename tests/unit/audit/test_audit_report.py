"""Report arithmetic: route shares, override rate, per-annotator confirmation rate, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from mitl_audit.report import DecisionCount, LabelCount, Report, Window, build, to_csv

DECISIONS = [
    DecisionCount("m1", "b1", "accept", 6),
    DecisionCount("m1", "b1", "review", 3),
    DecisionCount("m1", "b2", "escalate", 1),
    DecisionCount("m2", "", "accept", 2),
    DecisionCount("m2", "", "review", 8),
]
LABELS = [
    LabelCount(None, "model", "auto_accept", False, "m1", 6),
    LabelCount("ada", "annotator", "confirm", False, "m1", 3),
    LabelCount("ada", "annotator", "correct", True, "m1", 1),
    LabelCount("bob", "annotator", "correct", True, "m2", 4),
    LabelCount("bob", "annotator", "correct", False, "m2", 1),
    LabelCount("eve", "expert", "resolve", True, "m1", 2),
    LabelCount(None, "annotator", "confirm", False, "m2", 1),
]


def report() -> Report:
    return build("d", Window(), DECISIONS, LABELS)


def test_decision_shares_by_route() -> None:
    decisions = report().decisions
    assert (decisions.total, decisions.accept, decisions.review, decisions.escalate) == (
        20,
        8,
        11,
        1,
    )
    assert decisions.auto_accepted_share == pytest.approx(0.4)
    assert decisions.reviewed_share == pytest.approx(0.55)
    assert decisions.escalated_share == pytest.approx(0.05)


def test_decisions_per_model_version_and_batch() -> None:
    r = report()
    assert list(r.decisions_by_model_version) == ["m1", "m2"]
    assert r.decisions_by_model_version["m1"].total == 10
    assert r.decisions_by_model_version["m2"].auto_accepted_share == pytest.approx(0.2)
    assert set(r.decisions_by_batch) == {"b1", "b2", "(none)"}
    assert r.decisions_by_batch["b2"].escalated_share == 1.0
    assert r.decisions_by_batch["(none)"].total == 10


def test_labels_overrides_and_override_rate() -> None:
    labels = report().labels
    assert (labels.total, labels.auto_accepted, labels.human, labels.overrides) == (18, 6, 12, 7)
    assert labels.override_rate == pytest.approx(7 / 12)
    by_model = report().labels_by_model_version
    assert by_model["m1"].overrides == 3 and by_model["m1"].human == 6
    assert by_model["m2"].override_rate == pytest.approx(4 / 6)


def test_per_annotator_counts_and_confirmation_rate() -> None:
    people = {a.annotator: a for a in report().annotators}
    assert list(people) == ["(unknown)", "ada", "bob", "eve"]
    assert (people["ada"].labels, people["ada"].confirm, people["ada"].correct) == (4, 3, 1)
    assert people["ada"].confirmation_rate == pytest.approx(0.75)
    assert people["bob"].confirmation_rate == 0.0 and people["bob"].overrides == 4
    # An expert who only resolves has confirmed nothing and corrected nothing: no rate.
    assert people["eve"].resolve == 2 and people["eve"].confirmation_rate is None


def test_an_empty_window_has_counts_of_zero_and_no_rates() -> None:
    empty = build("d", Window(), [], [])
    assert empty.decisions.total == 0 and empty.decisions.auto_accepted_share is None
    assert empty.labels.override_rate is None and empty.annotators == []


def test_window_is_echoed_as_from_and_to() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    body = build("d", Window(from_=start), [], []).model_dump(mode="json", by_alias=True)
    assert body["window"] == {"from": "2026-01-01T00:00:00Z", "to": None}


def test_csv_has_one_line_per_number() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report()))))
    value = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert value[("decisions", "all", "accept")] == "8"
    assert value[("decisions_by_batch", "(none)", "review")] == "8"
    assert float(value[("labels", "all", "override_rate")]) == pytest.approx(7 / 12)
    assert value[("annotator", "ada", "confirmation_rate")] == "0.75"
    assert value[("annotator", "eve", "confirmation_rate")] == ""
    assert ("annotator", "ada", "annotator") not in value
    assert len(rows) == len(value)
