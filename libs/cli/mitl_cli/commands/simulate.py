"""`mitl simulate`: replay a labeled dataset through the real router core and a real model.

    mitl simulate --dataset sms_spam --seeds 0,1,2 --target 0.98 [--budget 1600] [--json]

Full coverage (default): every item ends labeled; compares the loop with "review all" and a
Ground-Truth-style policy. --budget N: people label at most N items; the queue's strategy
against random sampling. Embeddings are cached under .local/cache/sim (first run: ~1 min).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mitl_ml.sim.embeddings import DEFAULT_CACHE_DIR
from mitl_ml.sim.runner import SimConfig, simulate
from mitl_ml.sim.world import SIM_DATASETS

COVERAGE_COLUMNS = (
    "method",
    "seed",
    "human_labels",
    "human_share",
    "coverage",
    "accepted_precision",
    "final_accuracy",
    "spot_checks",
    "expert_labels",
)
SUMMARY_COLUMNS = (
    "seed",
    "random_accuracy_at_budget",
    "strategy_accuracy_at_budget",
    "strategy_labels_to_match",
    "savings_factor",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("simulate", help="replay a labeled dataset through the loop")
    parser.add_argument("--dataset", choices=SIM_DATASETS, required=True)
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--target", type=float, default=0.98, help="target precision")
    parser.add_argument("--budget", type=int, default=None, help="budget mode: max labels")
    parser.add_argument("--retrain-every", type=int, default=50, help="human labels per retrain")
    parser.add_argument("--initial", type=int, default=100, help="random labels to start")
    parser.add_argument("--step", type=int, default=50, help="budget mode: labels per round")
    parser.add_argument("--error-rate", type=float, default=0.0, help="annotator error rate")
    parser.add_argument(
        "--strategy", choices=("least_confidence", "margin", "entropy"), default="entropy"
    )
    parser.add_argument("--diversity", type=float, default=0.5, help="near-duplicate penalty")
    parser.add_argument("--spot-check-rate", type=float, default=0.005)
    parser.add_argument("--spot-check-max-rate", type=float, default=0.02)
    parser.add_argument("--limit", type=int, default=None, help="use a random N-item subset")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = SimConfig(
            dataset=args.dataset,
            seeds=tuple(int(s) for s in args.seeds.split(",") if s.strip()),
            target=args.target,
            budget=args.budget,
            retrain_every=args.retrain_every,
            initial=args.initial,
            step=args.step,
            error_rate=args.error_rate,
            strategy=args.strategy,
            diversity=args.diversity,
            spot_check_rate=args.spot_check_rate,
            spot_check_max_rate=args.spot_check_max_rate,
            limit=args.limit,
            cache_dir=args.cache_dir,
        )
        records = simulate(config)
        for record in records:
            if args.json:
                print(json.dumps(record), flush=True)
            elif record["mode"] == "coverage":
                print(_row(record, COVERAGE_COLUMNS), flush=True)
            elif record["mode"] == "budget_summary":
                print(_row(record, SUMMARY_COLUMNS), flush=True)
    except ValueError as error:
        print(f"mitl simulate: {error}")
        return 2
    return 0


def _row(record: dict[str, object], columns: tuple[str, ...]) -> str:
    return "  ".join(f"{c}={record[c]}" for c in columns)
