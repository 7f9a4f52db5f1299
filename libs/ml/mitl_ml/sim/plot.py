"""`mitl simulate --plot FILE`: one PNG summarising the run's reports (report.py), all seeds.

Budget mode: held-out accuracy against human labels, strategy and random sampling, one line
per seed and arm (same colour per arm). Full coverage: human labels per seed for the loop, the
Ground-Truth-style baseline and review-all, as grouped bars with the count on each bar.
matplotlib is imported here only, with the Agg backend (no display on servers or in CI).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use("Agg"): the backend must be chosen first
import numpy as np
from matplotlib.figure import Figure

Report = dict[str, object]
STRATEGY_COLOUR = "tab:blue"
RANDOM_COLOUR = "tab:orange"
METHODS = (
    ("loop", "", "tab:blue"),
    ("ground-truth baseline", "baseline_gt_", "tab:orange"),
    ("review all", "baseline_review_all_", "tab:grey"),
)
STYLES = ("-", "--", ":", "-.")


def plot_reports(reports: Sequence[Report], path: Path) -> Path:
    """Write the PNG for `reports` (all from one run: one mode, one dataset) to `path`."""
    if not reports:
        raise ValueError("nothing to plot: no runs finished")
    modes = {r["mode"] for r in reports}
    if len(modes) != 1:
        raise ValueError(f"cannot plot runs of different modes together: {sorted(map(str, modes))}")
    figure = _budget(reports) if modes == {"budget"} else _coverage(reports)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=120)
    plt.close(figure)
    return path


def _number(report: Report, key: str) -> float:
    value = report[key]
    if not isinstance(value, int | float):
        raise TypeError(f"report field {key!r} is {value!r}, not a number")
    return float(value)


def _title(reports: Sequence[Report]) -> str:
    first = reports[0]
    seeds = ", ".join(str(r["seed"]) for r in reports)
    return (
        f"{first['dataset']}: target precision {first['target']}, "
        f"annotator error {first['annotator_error']}, seed{'s' if len(reports) > 1 else ''} {seeds}"
    )


def _budget(reports: Sequence[Report]) -> Figure:
    figure, axes = plt.subplots(figsize=(10, 5), layout="constrained")
    for i, r in enumerate(reports):
        curve = r["curve"]
        assert isinstance(curve, list)
        style = STYLES[i % len(STYLES)]
        for key, colour, arm in (
            ("strategy_accuracy", STRATEGY_COLOUR, f"{r['strategy']} (router queue)"),
            ("random_accuracy", RANDOM_COLOUR, "random sampling"),
        ):
            points = [(p["human_labels"], p[key]) for p in curve if p[key] is not None]
            xs, ys = zip(*points, strict=True) if points else ((), ())
            axes.plot(xs, ys, style, color=colour, marker=".", label=f"{arm}, seed {r['seed']}")
        needed = r.get("strategy_labels_to_match")
        if needed is not None:
            axes.axvline(
                _number(r, "strategy_labels_to_match"),
                color=STRATEGY_COLOUR,
                alpha=0.3,
                linestyle=style,
                label=f"strategy matches random@budget, seed {r['seed']}",
            )
    axes.axvline(
        _number(reports[0], "budget"), color="black", alpha=0.4, linewidth=1, label="budget"
    )
    axes.set_title(f"Budget mode: accuracy vs human labels\n{_title(reports)}", fontsize=10)
    axes.set_xlabel("human labels")
    axes.set_ylabel("held-out accuracy")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def _coverage(reports: Sequence[Report]) -> Figure:
    figure, axes = plt.subplots(figsize=(max(6.0, 2.2 * len(reports) + 2), 5), layout="constrained")
    centres = np.arange(len(reports))
    width = 0.8 / len(METHODS)
    for j, (name, prefix, colour) in enumerate(METHODS):
        counts = [int(_number(r, f"{prefix}human_labels")) for r in reports]
        bars = axes.bar(centres + (j - 1) * width, counts, width, label=name, color=colour)
        axes.bar_label(bars, fontsize=8)
    axes.set_xticks(centres, [f"seed {r['seed']}" for r in reports])
    items = reports[0]["items"]
    axes.set_title(
        f"Full coverage: human labels to label all {items} items\n{_title(reports)}", fontsize=10
    )
    axes.set_ylabel("human labels (fewer is better)")
    axes.set_xlabel("seed")
    axes.set_ylim(0, _number(reports[0], "items") * 1.12)
    axes.legend(fontsize=8, loc="upper right", ncols=len(METHODS))
    return figure
