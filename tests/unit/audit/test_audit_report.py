"""Report arithmetic: route shares, override rate, spot-check precision with its Wilson
interval, per batch, model version, class and annotator; confirmation rates; CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from mitl_audit.core.agreement import SharedItem
from mitl_audit.core.counts import DecisionCount, LabelCount, SpotCheckCount
from mitl_audit.core.precision import wilson
from mitl_audit.core.report import Report, Window, build
from mitl_audit.core.report_csv import to_csv
from mitl_policy.agreement import summarize
from mitl_policy.ppi import ppi_interval

DECISIONS = [
    DecisionCount("m1", "b1", "accept", 6, "HUM"),
    DecisionCount("m1", "b1", "review", 3, "LOC"),
    DecisionCount("m1", "b2", "escalate", 1, "LOC"),
    DecisionCount("m2", "", "accept", 2, "HUM"),
    DecisionCount("m2", "", "review", 8, "NUM"),
]
LABELS = [
    LabelCount(None, "model", "auto_accept", False, "m1", 6, "b1", "HUM"),
    LabelCount("ada", "annotator", "confirm", False, "m1", 3, "b1", "LOC"),
    LabelCount("ada", "annotator", "correct", True, "m1", 1, "b2", "LOC"),
    LabelCount("bob", "annotator", "correct", True, "m2", 4, "", "NUM"),
    LabelCount("bob", "annotator", "correct", False, "m2", 1, "", "NUM"),
    LabelCount("eve", "expert", "resolve", True, "m1", 2, "b1", "HUM"),
    LabelCount(None, "annotator", "confirm", False, "m2", 1, "", "HUM"),
]
CHECKS = [
    SpotCheckCount("m1", "b1", "HUM", "ada", True, 4),
    SpotCheckCount("m1", "b1", "HUM", "eve", False, 1),
    SpotCheckCount("m2", "", "HUM", "bob", True, 2),
]


def report() -> Report:
    return build("d", Window(), DECISIONS, LABELS, CHECKS)


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


def test_slices_per_model_version_batch_and_class() -> None:
    r = report()
    assert list(r.by_model_version) == ["m1", "m2"]
    assert r.by_model_version["m1"].decisions.total == 10
    assert r.by_model_version["m2"].decisions.auto_accepted_share == pytest.approx(0.2)
    assert list(r.by_batch) == ["(none)", "b1", "b2"]
    assert r.by_batch["b2"].decisions.escalated_share == 1.0
    assert r.by_batch["(none)"].decisions.total == 10
    assert r.by_batch["b2"].labels.override_rate == 1.0
    # Class: the model's predicted class (for labels, the suggestion shown).
    assert list(r.by_class) == ["HUM", "LOC", "NUM"]
    assert r.by_class["HUM"].decisions.auto_accepted_share == 1.0
    assert r.by_class["LOC"].labels.override_rate == pytest.approx(1 / 4)
    assert r.by_class["NUM"].accepted_precision.spot_checks == 0


def test_labels_overrides_and_override_rate() -> None:
    r = report()
    labels = r.labels
    assert (labels.total, labels.auto_accepted, labels.human, labels.overrides) == (18, 6, 12, 7)
    assert labels.override_rate == pytest.approx(7 / 12)
    assert r.by_model_version["m1"].labels.overrides == 3
    assert r.by_model_version["m1"].labels.human == 6
    assert r.by_model_version["m2"].labels.override_rate == pytest.approx(4 / 6)


def test_accepted_precision_from_spot_checks_with_a_wilson_interval() -> None:
    r = report()
    overall = r.accepted_precision
    assert (overall.spot_checks, overall.agreed) == (7, 6)
    assert overall.precision == pytest.approx(6 / 7)
    assert (overall.ci_low, overall.ci_high) == pytest.approx(wilson(6, 7))
    assert overall.ci_low < overall.precision < overall.ci_high
    assert overall.confidence == 0.95
    assert r.by_model_version["m1"].accepted_precision.precision == pytest.approx(0.8)
    assert r.by_batch["(none)"].accepted_precision.precision == 1.0
    assert r.by_class["HUM"].accepted_precision.spot_checks == 7


def test_the_prediction_powered_interval_uses_the_accepted_confidences() -> None:
    """40 accepted at confidence 0.9 (sum 36, squares 32.4); 10 checked, 9 agreed: residuals
    nine of 0.1 and one of -0.9. The estimate is 0.9 + 0 = 0.9, with the variances of both."""
    decisions = [DecisionCount("m", "b", "accept", 40, "HUM", 36.0, 32.4)]
    decisions.append(DecisionCount("m", "b", "review", 5, "LOC", 3.0, 1.8))
    checks = [
        SpotCheckCount("m", "b", "HUM", "ada", True, 9, 0.9, 0.09),
        SpotCheckCount("m", "b", "HUM", "ada", False, 1, -0.9, 0.81),
    ]
    r = build("d", Window(), decisions, [], checks)
    direct = ppi_interval([0.9] * 40, [(0.9, True)] * 9 + [(0.9, False)], 0.95)
    overall = r.accepted_precision
    assert overall.ppi_precision == pytest.approx(0.9)
    assert (overall.ppi_low, overall.ppi_high) == pytest.approx((direct.low, direct.high))
    wilson_width = overall.ci_high - overall.ci_low  # type: ignore[operator]
    assert overall.ppi_narrower_by == pytest.approx(1 - (direct.high - direct.low) / wilson_width)
    assert r.by_class["HUM"].accepted_precision.ppi_low == pytest.approx(direct.low)
    # No spot check, no interval of either kind.
    assert r.by_class["LOC"].accepted_precision.ppi_low is None
    assert r.by_class["LOC"].accepted_precision.ci_low is None


def test_per_annotator_counts_rates_and_spot_checks() -> None:
    people = {a.annotator: a for a in report().annotators}
    assert list(people) == ["(unknown)", "ada", "bob", "eve"]
    assert (people["ada"].labels, people["ada"].confirm, people["ada"].correct) == (4, 3, 1)
    assert people["ada"].confirmation_rate == pytest.approx(0.75)
    assert people["ada"].override_rate == pytest.approx(0.25)
    assert people["ada"].accepted_precision.precision == 1.0
    assert people["bob"].confirmation_rate == 0.0 and people["bob"].overrides == 4
    # An expert who only resolves has confirmed nothing and corrected nothing: no rate.
    assert people["eve"].resolve == 2 and people["eve"].confirmation_rate is None
    assert people["eve"].accepted_precision.precision == 0.0
    assert people["(unknown)"].accepted_precision.precision is None


def test_an_empty_window_has_counts_of_zero_and_no_rates() -> None:
    empty = build("d", Window(), [], [])
    assert empty.decisions.total == 0 and empty.decisions.auto_accepted_share is None
    assert empty.labels.override_rate is None and empty.annotators == []
    assert empty.accepted_precision.precision is None and empty.accepted_precision.ci_low is None
    assert empty.by_batch == {} and empty.by_class == {}


def test_window_is_echoed_as_from_and_to() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    body = build("d", Window(from_=start), [], []).model_dump(mode="json", by_alias=True)
    assert body["window"] == {"from": "2026-01-01T00:00:00Z", "to": None}


def test_csv_has_one_line_per_number() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report()))))
    value = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert value[("all", "all", "decisions.accept")] == "8"
    assert value[("batch", "(none)", "decisions.review")] == "8"
    assert float(value[("all", "all", "labels.override_rate")]) == pytest.approx(7 / 12)
    assert float(value[("model_version", "m1", "accepted_precision.ci_high")]) == pytest.approx(
        wilson(4, 5)[1]
    )
    assert value[("class", "NUM", "accepted_precision.precision")] == ""
    assert value[("annotator", "ada", "confirmation_rate")] == "0.75"
    assert value[("annotator", "ada", "accepted_precision.spot_checks")] == "4"
    assert value[("annotator", "eve", "confirmation_rate")] == ""
    assert ("annotator", "ada", "annotator") not in value
    assert len(rows) == len(value)


SHARED = [
    SharedItem("d", "i1", {"ada": "HUM", "bob": "HUM"}),
    SharedItem("d", "i2", {"ada": "LOC", "bob": "LOC"}),
    SharedItem("d", "i3", {"ada": "HUM", "bob": "LOC"}),
    SharedItem("d", "i4", {"ada": "NUM", "bob": "NUM", "cyd": "NUM"}),
]


def test_agreement_section_from_items_several_people_labeled() -> None:
    agreement = build("d", Window(), [], [], [], SHARED).agreement
    assert (agreement.items, agreement.labels, agreement.annotators) == (4, 9, 3)
    # 1 - Krippendorff's observed disagreement: item i3's two labels (of nine) disagree.
    assert agreement.observed_agreement == pytest.approx(7 / 9)
    expected = summarize({s.item_id: s.labels for s in SHARED})
    assert agreement.krippendorff_alpha == pytest.approx(expected.alpha.alpha)
    # Fleiss' kappa takes the three items with two labels (the most common count).
    assert (agreement.fleiss_items, agreement.fleiss_raters) == (3, 2)
    assert agreement.fleiss_kappa == pytest.approx(expected.fleiss.kappa)
    pairs = {(p.annotator_a, p.annotator_b): p for p in agreement.pairs}
    assert list(pairs) == [("ada", "bob"), ("ada", "cyd"), ("bob", "cyd")]
    ada_bob = pairs[("ada", "bob")]
    assert (ada_bob.items, ada_bob.observed_agreement) == (4, 0.75)
    assert ada_bob.cohen_kappa == pytest.approx(expected.pairs[("ada", "bob")].kappa)
    # ada and cyd share one item, all NUM: no variation, kappa undefined.
    assert (pairs[("ada", "cyd")].observed_agreement, pairs[("ada", "cyd")].cohen_kappa) == (
        1.0,
        None,
    )
    assert list(agreement.by_label) == ["HUM", "LOC", "NUM"]
    num = agreement.by_label["NUM"]
    assert (num.labels, num.share, num.specific_agreement) == (3, pytest.approx(1 / 3), 1.0)
    # NUM was never given on the items Fleiss' kappa used.
    assert num.fleiss_kappa is None
    assert agreement.by_label["HUM"].specific_agreement == pytest.approx(2 / 3)


def test_a_report_without_shared_items_has_an_empty_agreement_section() -> None:
    agreement = report().agreement
    assert (agreement.items, agreement.pairs, agreement.by_label) == (0, [], {})
    assert agreement.krippendorff_alpha is None and agreement.fleiss_kappa is None
    assert agreement.observed_agreement is None


def test_csv_has_the_agreement_figures() -> None:
    text = to_csv(build("d", Window(), [], [], [], SHARED))
    value = {
        (r["section"], r["key"], r["metric"]): r["value"] for r in csv.DictReader(io.StringIO(text))
    }
    assert value[("agreement", "all", "items")] == "4"
    assert value[("agreement", "all", "fleiss_raters")] == "2"
    assert float(value[("agreement", "all", "krippendorff_alpha")]) == pytest.approx(
        build("d", Window(), [], [], [], SHARED).agreement.krippendorff_alpha
    )
    assert value[("agreement_pair", "ada/bob", "items")] == "4"
    assert value[("agreement_pair", "ada/cyd", "cohen_kappa")] == ""
    assert value[("agreement_label", "NUM", "specific_agreement")] == "1.0"
    assert ("agreement", "all", "pairs") not in value
    assert ("agreement_pair", "ada/bob", "annotator_a") not in value
