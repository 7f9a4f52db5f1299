"""`mitl bench drift`: how fast the drift monitor notices a real shift, and how often it cries
wolf on a stationary stream.

Scores TREC-6 questions (the bootstrap model's unlabeled pool) and SMS messages once, in
process, with the bootstrap TREC-6 MiniLM model (built with mitl_ml.bootstrap, or --bundle),
sketching each embedding as inference does (mitl_ml.sketch). Then, per seed, it runs the
drift-monitor's pure core with its settings (defaults unless MITL_* variables say otherwise)
over two streams into one (dataset, model version):
- shift: `--before` TREC-6 questions, then `--after` SMS messages; for each statistic, how
  many SMS items had arrived when its first alert fired (none: missed);
- stationary: `--before + --after` TREC-6 questions in another order; every alert raised
  there is a false one.
Human-label statistics (agreement_drop, spot_check_drop) need people and are not measured.
No broker or database is involved: this measures the statistics, not the plumbing.
"""

from __future__ import annotations

import argparse
import statistics as stats
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from mitl_cli.commands.bench import emit, machine
from mitl_runtime.progress import Progress

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("drift", help="detection delay and false alerts on real data")
    parser.add_argument("--bundle", type=Path, default=None, help="default: build the bootstrap")
    parser.add_argument("--before", type=int, default=1000, help="TREC-6 items before the switch")
    parser.add_argument("--after", type=int, default=600, help="SMS items after the switch")
    parser.add_argument("--seeds", type=int, default=5, help="stream orders per scenario")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress on stderr"
    )
    parser.set_defaults(func=run)


def run_stream(
    observations: Sequence[Any], labels: Sequence[str], config: Any
) -> list[tuple[int, Any]]:
    """Feed one new monitor `observations` one by one; (items counted, alert) per alert."""
    from mitl_drift import core

    state = core.MonitorState.new("bench", "bench-model", labels)
    fired: list[tuple[int, Any]] = []
    for n, observation in enumerate(observations, 1):
        fired += [
            (n, alert) for alert in core.observe_predictions(state, [observation], config, NOW)
        ]
    return fired


def raised(fired: list[tuple[int, Any]]) -> list[tuple[int, str]]:
    """(items counted, statistic) of each alert raised from calm: a warning that turns
    critical, or an alert of another class segment of the same statistic, is not counted
    again until the statistic's segment has cleared."""
    active: set[tuple[str, str]] = set()
    out: list[tuple[int, str]] = []
    for n, alert in fired:
        key = (alert.statistic, alert.segment)
        if alert.state == "clear":
            active.discard(key)
        elif key not in active:
            active.add(key)
            out.append((n, alert.statistic))
    return out


def first_after(events: list[tuple[int, str]], switch: int) -> dict[str, int]:
    """Per statistic, the items after `switch` when it first alerted after the switch."""
    first: dict[str, int] = {}
    for n, statistic in events:
        if n > switch:
            first.setdefault(statistic, n - switch)
    return first


def score(texts: list[str], bundle: Path) -> dict[str, np.ndarray]:
    """Top-class index, confidence, outlier score and sketch of each text."""
    from mitl_ml.runtime import load_model
    from mitl_ml.sketch import sketch

    model = load_model(bundle)
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    for start in range(0, len(texts), 256):
        out = model.predict(texts[start : start + 256])
        assert out.embeddings is not None  # a MiniLM model
        parts["classes"].append(out.probabilities.argmax(axis=1))
        parts["confidences"].append(out.probabilities.max(axis=1))
        parts["outliers"].append(out.outlier_scores)
        parts["sketches"].append(sketch(out.embeddings))
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}


def observations(scored: dict[str, np.ndarray], order: np.ndarray) -> list[Any]:
    from mitl_drift.windows import Observation

    return [
        Observation(
            float(scored["confidences"][i]),
            int(scored["classes"][i]),
            float(scored["outliers"][i]),
            tuple(float(v) for v in scored["sketches"][i]),
        )
        for i in order
    ]


def summary(delays: dict[str, list[int | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for statistic, values in sorted(delays.items()):
        hits = [v for v in values if v is not None]
        out[statistic] = {
            "median": stats.median(hits) if hits else None,
            "min": min(hits) if hits else None,
            "max": max(hits) if hits else None,
            "missed": len(values) - len(hits),
            "per_seed": values,
        }
    return out


def run(args: argparse.Namespace) -> int:
    from mitl_ml.bootstrap import bootstrap_splits, build_bootstrap
    from mitl_ml.datasets import load_sms_spam
    from mitl_ml.manifest import read_manifest

    from mitl_drift.config import PREDICTION_STATISTICS
    from mitl_drift.settings import Settings

    config = Settings().drift_config()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mitl-bench-drift-") as folder:
        bundle = args.bundle or Path(folder) / "trec6-bootstrap"
        if args.bundle is None:
            build_bootstrap(bundle, dataset="trec6", kind="minilm", seed_size=300, seed=0)
        manifest = read_manifest(bundle)
        trec = bootstrap_splits("trec6", 300, 0).pool.texts()
        sms = load_sms_spam().texts()
        picked = np.random.default_rng(0).permutation(len(sms))[: max(args.after * 2, 1000)]
        sms = [sms[i] for i in picked]
        scoring = time.perf_counter()
        scored_trec, scored_sms = score(trec, bundle), score(sms, bundle)
        scoring = time.perf_counter() - scoring
    delays: dict[str, list[int | None]] = {s: [] for s in PREDICTION_STATISTICS}
    false_alerts = dict.fromkeys(PREDICTION_STATISTICS, 0)
    prefix_false = dict.fromkeys(PREDICTION_STATISTICS, 0)
    length = args.before + args.after
    report = Progress(enabled=args.progress).phase("drift streams", "seeds")
    for seed in range(args.seeds):
        report(seed, args.seeds)
        rng = np.random.default_rng(seed)
        before = rng.permutation(len(trec))[: args.before]
        after = rng.permutation(len(sms))[: args.after]
        shifted = observations(scored_trec, before) + observations(scored_sms, after)
        events = raised(run_stream(shifted, manifest.labels, config))
        first = first_after(events, args.before)
        for statistic in PREDICTION_STATISTICS:
            delays[statistic].append(first.get(statistic))
        for n, statistic in events:
            prefix_false[statistic] += n <= args.before
        stationary = observations(scored_trec, rng.permutation(len(trec))[:length])
        for _, statistic in raised(run_stream(stationary, manifest.labels, config)):
            false_alerts[statistic] += 1
    emit(
        {
            "model": manifest.version,
            "model_holdout_accuracy": round(manifest.metrics.get("holdout_accuracy", 0.0), 4),
            "reference_size": config.reference_size,
            "window_size": config.window_size,
            "evaluate_every": config.evaluate_every,
            "thresholds": config.thresholds,
            "seeds": args.seeds,
            "shift": f"{args.before} TREC-6 questions, then {args.after} SMS messages",
            "first_alert_items_after_switch": summary(delays),
            "false_alerts_before_switch": prefix_false,
            "stationary_length": length,
            "stationary_false_alerts": false_alerts,
            "stationary_alerts_per_1000_items": round(
                sum(false_alerts.values()) * 1000 / (length * args.seeds), 3
            ),
            "not_measured": {
                s: "needs human labels" for s in ("agreement_drop", "spot_check_drop")
            },
            "scored_items": len(trec) + len(sms),
            "scoring_seconds": round(scoring, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            **machine(),
        },
        args.json,
    )
    return 0
