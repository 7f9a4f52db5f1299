"""What `mitl simulate` prints: one JSON-ready object per seed, and readable lines for people.

The issue's spec names the figures a run must report: in full coverage `items`,
`human_labels`, `human_fraction`, `auto_accepted`, `auto_precision`, `final_accuracy` and the
Ground-Truth-style baseline's `baseline_gt_human_labels` / `baseline_gt_final_accuracy`; in
budget mode a `curve` of (human labels, strategy accuracy, random accuracy). Ratios here are
computed from the counts at full precision (the flat records round them), so
`human_fraction == human_labels / items` holds exactly. `auto_precision` is null when nothing
was auto-accepted (there is no precision to report, rather than a vacuous 1.0).

Full coverage also compares the loop with the GT baseline: `labels_saved_vs_gt` (1 - loop
labels / GT labels, at the configured settings) and `at_gt_accuracy`, the loop run at the
first stricter floor whose final accuracy reaches GT's, or, when the loop is already as
accurate, at the loosest target that still reaches it at the policy's precision (matched.py;
its `min_accept_threshold` and `target`), with its own `labels_saved_vs_gt`; null when no
floor reaches it or the comparison was not asked for.
`ceiling_at_gt_accuracy` (ceiling.py) is the most a confidence-threshold policy could save
there in hindsight: where it is under a figure, no such policy reaches the figure with this
model.
"""

from __future__ import annotations

import math

from mitl_ml.sim.results import BudgetCurve, CoverageResult
from mitl_ml.sim.runner import BudgetRun, CoverageRun, SimConfig

Report = dict[str, object]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(result: CoverageResult) -> Report:
    """The spec's key figures of one full-coverage result (multi-label: precision and
    accuracy per label decision; spans: precision per accepted span, accuracy per item)."""
    per_item = result.decisions_per_item
    return {
        "human_labels": result.human_labels,
        "human_fraction": _ratio(result.human_labels, result.items),
        "auto_accepted": result.auto_accepted,
        "auto_precision": _ratio(result.accepted_correct, result.accepted_decisions),
        "final_accuracy": _ratio(result.final_correct, result.items * per_item),
    }


def _saved(loop: CoverageResult, gt: CoverageResult) -> float | None:
    """Share of GT's human labels the loop did without (negative: it used more)."""
    return 1 - loop.human_labels / gt.human_labels if gt.human_labels else None


def matched_report(run: CoverageRun) -> Report | None:
    if run.matched is None:
        return None
    result = run.matched.result
    return {
        "min_accept_threshold": run.matched.floor,
        "target": run.matched.target,
        "reruns": run.matched.reruns,
        **figures(result),
        "labels_saved_vs_gt": _saved(result, run.ground_truth),
    }


def _settings(config: SimConfig) -> Report:
    return {
        "target": config.target,
        "model": config.model,
        "strategy": config.strategy,
        "annotator_error": config.error_rate,
        "bound": config.bound,
        "calibration_rate": config.calibration_rate,
        "calibration_max_rate": config.calibration_max_rate,
        "calibration_budget": config.calibration_budget,
        "calibration_floor_budget": config.calibration_floor_budget,
        "calibration_queue_cap": config.calibration_queue_cap,
        "spot_check_evidence": config.spot_check_evidence,
        "min_verified": config.min_verified,
        "min_verified_scope": config.min_verified_scope,
        "class_raise": config.class_raise,
        "shared_threshold": config.shared_threshold,
        "initial": config.initial,
        "data": str(config.source.path) if config.source is not None else None,
    }


def coverage_report(run: CoverageRun, config: SimConfig) -> Report:
    """The loop's figures at the top level, each baseline's under `baseline_<name>_*` and in
    full under `baselines`."""
    loop = run.loop
    out: Report = {
        "mode": "coverage",
        "dataset": loop.dataset,
        "task": loop.task,
        "seed": run.seed,
        **_settings(config),
        "retrain_every": config.retrain_every,
        "retrain_growth": config.retrain_growth,
        "items": loop.items,
        **figures(loop),
        "model_labeled": loop.model_labeled,
        "coverage": _ratio(loop.model_labeled, loop.items),
        "spot_checks": loop.spot_checks,
        "calibration_labels": loop.calibration_labels,
        "review_labels": loop.review_labels,
        "initial_labels": loop.initial_labels,
        "certified_at_human_labels": loop.certified_at,
        "accepted_precision_intervals": loop.precision_intervals,
        "expert_labels": loop.expert_labels,
        "rounds": loop.rounds,
        "details": loop.details,
    }
    for prefix, baseline in (
        ("baseline_gt", run.ground_truth),
        ("baseline_review_all", run.review_all),
    ):
        out |= {f"{prefix}_{key}": value for key, value in figures(baseline).items()}
    out["baseline_gt_sample_size"] = run.ground_truth.details.get("sample_size")
    out["labels_saved_vs_gt"] = _saved(loop, run.ground_truth)
    out["match_gt"] = config.match_gt
    out["at_gt_accuracy"] = matched_report(run)
    out["ceiling_at_gt_accuracy"] = run.ceiling.as_dict() if run.ceiling is not None else None
    if loop.decisions_per_item > 1:
        out["model"] = "one_vs_rest"
        out["label_decisions_per_item"] = loop.decisions_per_item
    if loop.accepted_spans is not None:
        out["model"] = "spacy-ner"
        out["accepted_spans"] = loop.accepted_spans
        out["baseline_gt_accepted_spans"] = run.ground_truth.accepted_spans
    out["baselines"] = {
        "ground_truth": run.ground_truth.as_dict(),
        "review_all": run.review_all.as_dict(),
    }
    return out


def curve_points(strategy: BudgetCurve, random: BudgetCurve) -> list[Report]:
    """One point per number of human labels either arm was evaluated at (both arms are
    evaluated at the same counts; a count only one has gets null for the other)."""
    by_arm = [dict(zip(c.labels, c.accuracy, strict=True)) for c in (strategy, random)]
    return [
        {
            "human_labels": n,
            "strategy_accuracy": by_arm[0].get(n),
            "random_accuracy": by_arm[1].get(n),
        }
        for n in sorted(set(strategy.labels) | set(random.labels))
    ]


def budget_report(run: BudgetRun, config: SimConfig) -> Report:
    summary = {k: v for k, v in run.summary.items() if k != "mode"}
    return {
        "mode": "budget",
        **summary,
        **_settings(config),
        "step": config.step,
        "items": run.items,
        "curve": curve_points(run.strategy, run.random),
    }


def report(run: CoverageRun | BudgetRun, config: SimConfig) -> Report:
    """The run's JSON object (strict JSON: a NaN, e.g. a class with no threshold, is null)."""
    out = (
        coverage_report(run, config) if isinstance(run, CoverageRun) else budget_report(run, config)
    )
    cleaned = _finite(out)
    assert isinstance(cleaned, dict)
    return cleaned


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _num(value: object, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


COVERAGE_HEADER = (
    f"{'dataset':<12} {'seed':>4} {'method':<13} {'items':>6} {'human':>6} {'human%':>7} "
    f"{'accepted':>8} {'acc.prec':>8} {'final_acc':>9} {'spot':>5} {'expert':>6}"
)


def coverage_lines(r: Report) -> list[str]:
    """Three table rows (loop, ground truth, review all) under COVERAGE_HEADER, then the
    label comparisons with GT."""
    baselines = r["baselines"]
    assert isinstance(baselines, dict)
    rows = []
    for method, prefix, spot, expert in (
        ("loop", "", r["spot_checks"], r["expert_labels"]),
        ("ground_truth", "baseline_gt_", 0, 0),
        ("review_all", "baseline_review_all_", 0, 0),
    ):
        fraction = r[f"{prefix}human_fraction"]
        share = f"{fraction:.1%}" if isinstance(fraction, float) else "-"
        rows.append(
            f"{r['dataset']!s:<12} {r['seed']!s:>4} {method:<13} {r['items']!s:>6} "
            f"{r[f'{prefix}human_labels']!s:>6} {share:>7} {r[f'{prefix}auto_accepted']!s:>8} "
            f"{_num(r[f'{prefix}auto_precision']):>8} {_num(r[f'{prefix}final_accuracy']):>9} "
            f"{spot!s:>5} {expert!s:>6}"
        )
    rows.append(f"  loop vs GT: {_fewer(r['labels_saved_vs_gt'])} human labels")
    matched = r["at_gt_accuracy"]
    if isinstance(matched, dict):
        rows.append(
            f"  at GT's accuracy (floor {matched['min_accept_threshold']}, target "
            f"{matched['target']}): "
            f"{matched['human_labels']} human labels, accuracy "
            f"{_num(matched['final_accuracy'])}, {_fewer(matched['labels_saved_vs_gt'])}"
        )
    elif r["match_gt"]:
        rows.append("  at GT's accuracy: no accept floor reached it")
    ceiling = r.get("ceiling_at_gt_accuracy")
    if isinstance(ceiling, dict):
        per_class, one = ceiling["per_class_thresholds"], ceiling["one_threshold"]
        rows.append(
            f"  hindsight ceiling at GT's accuracy ({ceiling['max_errors']} mistakes): "
            f"per-class thresholds {per_class['human_labels']} human labels, "
            f"{_fewer(per_class['labels_saved_vs_gt'])}; one threshold "
            f"{one['human_labels']}, {_fewer(one['labels_saved_vs_gt'])}"
        )
    return rows


def _fewer(saved: object) -> str:
    if not isinstance(saved, float):
        return "-"
    return f"{saved:.1%} fewer" if saved >= 0 else f"{-saved:.1%} more"


def budget_lines(r: Report) -> list[str]:
    """The curve as a small table, then the comparison at the budget."""
    lines = [
        f"{r['dataset']} seed {r['seed']}: {r['strategy']} vs random, budget {r['budget']}",
        f"  {'labels':>6} {r['strategy']!s:>16} {'random':>8}",
    ]
    curve = r["curve"]
    assert isinstance(curve, list)
    for point in curve:
        lines.append(
            f"  {point['human_labels']:>6} {_num(point['strategy_accuracy']):>16} "
            f"{_num(point['random_accuracy']):>8}"
        )
    savings = r["savings_factor"]
    lines.append(
        f"  random accuracy at {r['budget']}: {_num(r['random_accuracy_at_budget'])}; "
        f"strategy at {r['budget']}: {_num(r['strategy_accuracy_at_budget'])}; "
        f"strategy labels to match random: {_num(r['strategy_labels_to_match'])}"
        + (f" ({savings}x fewer)" if savings is not None else " (not reached)")
    )
    return lines
