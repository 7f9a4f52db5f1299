"""Inter-annotator agreement on nominal labels. Pure: no I/O.

The figures, each chance-corrected (1: perfect agreement, 0: as often as chance would have it,
below 0: less often):

- Cohen's kappa for one pair of annotators over the items both labeled:
  kappa = (p_o - p_e) / (1 - p_e), p_o the share of those items they labeled alike and p_e the
  share expected from each one's own label shares (Cohen 1960).
- Fleiss' kappa for a dataset (Fleiss 1971): every item labeled by the same number n >= 2 of
  raters, not necessarily the same people. P_i = sum_j n_ij (n_ij - 1) / (n (n - 1)) is the
  agreement among item i's raters, p_j the share of all labels in category j;
  kappa = (mean P_i - sum_j p_j^2) / (1 - sum_j p_j^2), and per category
  kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j (1 - p_j)). Fleiss' kappa is defined
  for a constant number of raters only; where items have different numbers, it is computed on
  the items with the most common number (the larger one on a tie) and says how many those
  are. Krippendorff's alpha below uses every item.
- Krippendorff's alpha, nominal (Krippendorff 2011, "Computing Krippendorff's
  Alpha-Reliability"): any number of raters per item, missing labels allowed. Each item with
  m >= 2 labels adds 1 / (m - 1) to the coincidence o_ck of every ordered pair of its labels
  (c, k) from different raters; n_c = sum_k o_ck, n = sum_c n_c;
  alpha = 1 - (n - 1) sum_{c != k} o_ck / sum_{c != k} n_c n_k.
- Specific agreement per label: of the ordered pairs of labels two raters gave one item where
  the first is the label, the share where the second is the same label (how likely a second
  rater is to agree when one chose it; not chance-corrected).

A figure is None where there is nothing to compute it from (no item with two labels) or where
it is undefined: when every label given is the same category, observed and chance agreement
are both 1 and kappa and alpha are 0 / 0 (the observed agreement, 1, is still reported).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

# item -> rater -> label
Ratings = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class PairAgreement:
    """Cohen's kappa of two raters over the `items` both labeled."""

    items: int
    observed: float | None = None
    expected: float | None = None
    kappa: float | None = None


@dataclass(frozen=True)
class Fleiss:
    """Fleiss' kappa over `items` items with `raters` labels each."""

    items: int = 0
    raters: int = 0
    observed: float | None = None
    expected: float | None = None
    kappa: float | None = None
    # Category -> kappa_j, for every category given on those items.
    by_category: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha (nominal) over the `items` with two labels or more (`values`
    labels in all)."""

    items: int = 0
    values: int = 0
    observed_disagreement: float | None = None
    expected_disagreement: float | None = None
    alpha: float | None = None


def _kappa(observed: float, expected: float) -> float | None:
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> PairAgreement:
    """Cohen's kappa of two raters from the (first's label, second's label) of each item both
    labeled."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return PairAgreement(items=0)
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first) / (n * n)
    return PairAgreement(n, observed, expected, _kappa(observed, expected))


def pairwise_kappas(ratings: Ratings) -> dict[tuple[str, str], PairAgreement]:
    """Cohen's kappa for every pair of raters (in name order) who labeled an item in common."""
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for by_rater in ratings.values():
        for a, b in combinations(sorted(by_rater), 2):
            pairs.setdefault((a, b), []).append((by_rater[a], by_rater[b]))
    return {key: cohen_kappa(pairs[key]) for key in sorted(pairs)}


def fleiss_kappa(items: Iterable[Mapping[str, int]]) -> Fleiss:
    """Fleiss' kappa from each item's label counts (category -> raters who chose it). Items
    with fewer than two labels are left out; of the rest, those with the most common number
    of labels (the larger on a tie) are used."""
    counted = [dict(c) for c in items if sum(c.values()) >= 2]
    if not counted:
        return Fleiss()
    sizes = Counter(sum(c.values()) for c in counted)
    raters = max(sizes, key=lambda size: (sizes[size], size))
    used = [c for c in counted if sum(c.values()) == raters]
    n_items = len(used)
    totals: Counter[str] = Counter()
    for c in used:
        totals.update(c)
    all_labels = n_items * raters
    shares = {category: totals[category] / all_labels for category in sorted(totals)}
    pair_count = raters * (raters - 1)
    observed = sum(sum(k * (k - 1) for k in c.values()) / pair_count for c in used) / n_items
    expected = sum(p * p for p in shares.values())
    by_category: dict[str, float | None] = {}
    for category, p in shares.items():
        spread = n_items * pair_count * p * (1.0 - p)
        if spread <= 0:
            by_category[category] = None
            continue
        disagreeing = sum(c.get(category, 0) * (raters - c.get(category, 0)) for c in used)
        by_category[category] = 1.0 - disagreeing / spread
    return Fleiss(n_items, raters, observed, expected, _kappa(observed, expected), by_category)


def krippendorff_alpha(units: Iterable[Sequence[str]]) -> Alpha:
    """Krippendorff's alpha for nominal labels, from each item's labels (one per rater; an
    item with fewer than two is not pairable and left out)."""
    coincidences: dict[tuple[str, str], float] = defaultdict(float)
    items = 0
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        items += 1
        counts = Counter(unit)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                coincidences[(c, k)] += pairs / (m - 1)
    if not items:
        return Alpha()
    marginals: dict[str, float] = defaultdict(float)
    for (c, _), o in coincidences.items():
        marginals[c] += o
    n = sum(marginals.values())
    observed = sum(o for (c, k), o in coincidences.items() if c != k) / n
    expected_pairs = sum(
        marginals[c] * marginals[k] for c in marginals for k in marginals if c != k
    )
    expected = expected_pairs / (n * (n - 1))
    values = round(n)
    if expected_pairs == 0:
        return Alpha(items, values, observed, expected, None)
    return Alpha(items, values, observed, expected, 1.0 - observed / expected)


def specific_agreement(units: Iterable[Sequence[str]]) -> dict[str, float]:
    """Per label: of the ordered pairs of labels from different raters of one item whose first
    is that label, the share whose second is the same label."""
    alike: Counter[str] = Counter()
    paired: Counter[str] = Counter()
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for label, n_label in Counter(unit).items():
            alike[label] += n_label * (n_label - 1)
            paired[label] += n_label * (m - 1)
    return {label: alike[label] / paired[label] for label in sorted(paired)}


@dataclass(frozen=True)
class Summary:
    """Every figure for one set of ratings, over its `items` labeled by two raters or more
    (`labels` labels in all)."""

    items: int
    labels: int
    pairs: dict[tuple[str, str], PairAgreement]
    fleiss: Fleiss
    alpha: Alpha
    specific: dict[str, float]
    # Label -> how many of the `labels` it is, in label order.
    label_counts: dict[str, int]


def summarize(ratings: Ratings) -> Summary:
    """The agreement figures of `ratings` (item -> rater -> label); items one rater labeled
    are left out of all of them."""
    shared = {item: by_rater for item, by_rater in ratings.items() if len(by_rater) >= 2}
    units = [list(by_rater.values()) for by_rater in shared.values()]
    return Summary(
        items=len(shared),
        labels=sum(len(unit) for unit in units),
        pairs=pairwise_kappas(shared),
        fleiss=fleiss_kappa(Counter(unit) for unit in units),
        alpha=krippendorff_alpha(units),
        specific=specific_agreement(units),
        label_counts=dict(sorted(Counter(label for unit in units for label in unit).items())),
    )
