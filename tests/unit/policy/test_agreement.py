"""Agreement figures against published worked examples, and their edge cases."""

from __future__ import annotations

from collections import Counter

import pytest
from mitl_policy.agreement import (
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_kappas,
    specific_agreement,
    summarize,
)

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters each, 5 categories;
# P-bar = 0.378, P-bar-e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: four
# observers, twelve units, values 1-5, missing values (None); nominal alpha = 0.743 over 40
# pairable values (unit 12 has one value and is left out).
KRIPPENDORFF = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def fleiss_items() -> list[dict[str, int]]:
    return [{f"c{j + 1}": n for j, n in enumerate(row) if n} for row in FLEISS_TABLE]


def krippendorff_ratings() -> dict[str, dict[str, str]]:
    ratings: dict[str, dict[str, str]] = {}
    for observer, values in KRIPPENDORFF.items():
        for unit, value in enumerate(values, start=1):
            if value is not None:
                ratings.setdefault(f"u{unit}", {})[observer] = str(value)
    return ratings


def test_cohen_kappa_of_the_textbook_two_by_two_table() -> None:
    # Wikipedia, "Cohen's kappa": 50 proposals, both yes 20, A yes B no 5, A no B yes 10,
    # both no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
    result = cohen_kappa(pairs + [("no", "no")] * 15)
    assert result.items == 50
    assert (result.observed, result.expected) == pytest.approx((0.7, 0.5))
    assert result.kappa == pytest.approx(0.4)


def test_fleiss_kappa_of_the_worked_example() -> None:
    result = fleiss_kappa(fleiss_items())
    assert (result.items, result.raters) == (10, 14)
    assert result.observed == pytest.approx(0.378, abs=5e-4)
    assert result.expected == pytest.approx(0.213, abs=5e-4)
    assert result.kappa == pytest.approx(0.210, abs=5e-4)
    # Fleiss (1971): kappa is the p_j q_j-weighted mean of the category kappas.
    totals = Counter[str]()
    for item in fleiss_items():
        totals.update(item)
    shares = {c: n / 140 for c, n in totals.items()}
    weights = {c: p * (1 - p) for c, p in shares.items()}
    weighted = sum(weights[c] * k for c, k in result.by_category.items() if k is not None)
    assert weighted / sum(weights.values()) == pytest.approx(result.kappa)
    assert set(result.by_category) == {"c1", "c2", "c3", "c4", "c5"}


def test_krippendorff_alpha_of_the_reliability_data_example_with_missing_values() -> None:
    units = [list(by.values()) for by in krippendorff_ratings().values()]
    result = krippendorff_alpha(units)
    assert (result.items, result.values) == (11, 40)
    assert result.alpha == pytest.approx(0.743, abs=5e-4)


def test_summary_of_the_krippendorff_data() -> None:
    summary = summarize(krippendorff_ratings())
    assert (summary.items, summary.labels) == (11, 40)
    assert summary.alpha.alpha == pytest.approx(0.743, abs=5e-4)
    # Each pair over the units both observed: A and B share units 1-9 and agree on 8.
    assert list(summary.pairs) == [
        ("A", "B"),
        ("A", "C"),
        ("A", "D"),
        ("B", "C"),
        ("B", "D"),
        ("C", "D"),
    ]
    ab = summary.pairs[("A", "B")]
    assert (ab.items, ab.observed) == (9, pytest.approx(8 / 9))
    # Raters per unit vary (2, 3 or 4): Fleiss' kappa takes the 8 units all four observed.
    assert (summary.fleiss.items, summary.fleiss.raters) == (8, 4)
    # Value 5 was given three times, always alike.
    assert summary.specific["5"] == 1.0
    assert summary.specific["1"] == pytest.approx(0.7)
    assert summary.label_counts == {"1": 9, "2": 13, "3": 10, "4": 5, "5": 3}


def test_no_shared_items_give_no_figures() -> None:
    empty = summarize({"i1": {"ada": "A"}, "i2": {"bob": "B"}})
    assert (empty.items, empty.labels, empty.pairs, empty.specific) == (0, 0, {}, {})
    assert empty.label_counts == {}
    assert empty.fleiss.kappa is None and empty.fleiss.items == 0
    assert empty.alpha.alpha is None and empty.alpha.items == 0
    assert cohen_kappa([]).kappa is None and cohen_kappa([]).items == 0
    assert pairwise_kappas({}) == {}


def test_perfect_agreement_is_one() -> None:
    ratings = {f"i{n}": {"ada": label, "bob": label} for n, label in enumerate("ABAB")}
    summary = summarize(ratings)
    assert summary.pairs[("ada", "bob")].kappa == 1.0
    assert summary.fleiss.kappa == 1.0 and summary.alpha.alpha == 1.0
    assert summary.fleiss.by_category == {"A": 1.0, "B": 1.0}
    assert summary.specific == {"A": 1.0, "B": 1.0}


def test_a_single_category_leaves_kappa_and_alpha_undefined() -> None:
    ratings = {f"i{n}": {"ada": "A", "bob": "A", "cyd": "A"} for n in range(3)}
    summary = summarize(ratings)
    pair = summary.pairs[("ada", "bob")]
    assert (pair.observed, pair.expected, pair.kappa) == (1.0, 1.0, None)
    assert (summary.fleiss.observed, summary.fleiss.kappa) == (1.0, None)
    assert summary.fleiss.by_category == {"A": None}
    assert summary.alpha.alpha is None and summary.alpha.observed_disagreement == 0.0


def test_systematic_disagreement_is_below_zero() -> None:
    ratings = {
        f"i{n}": {"ada": "A", "bob": "B"} if n % 2 else {"ada": "B", "bob": "A"} for n in range(4)
    }
    summary = summarize(ratings)
    assert summary.pairs[("ada", "bob")].kappa == pytest.approx(-1.0)
    assert summary.alpha.alpha is not None and summary.alpha.alpha < 0
    assert specific_agreement([["A", "B"]]) == {"A": 0.0, "B": 0.0}
