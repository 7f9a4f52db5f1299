"""`mitl simulate`: replay a labeled dataset through the real router core and a real model.

    mitl simulate --data FILE --label-col label (--text-col text | --features-col features)
        --target-precision 0.98 [--budget N] [--annotator-error 0.0] [--seed N] [--plot FILE]
        [--json]
    mitl simulate --dataset sms_spam --seeds 0,1,2 --target 0.98 [--budget 1600] [--json]

`--data` reads a CSV or JSON Lines file (texts are embedded with MiniLM, feature columns hold a
JSON array of numbers); `--dataset` names a shipped one (trec6, sms_spam; yeast and wnut16-types are
multi-label, on vectors and on tweets: the report adds `task: "multilabel"` and counts precision
per label decision; wnut16 is a
span (NER) dataset: its report adds `task: "spans"`, counts precision per accepted span
(entity level) and accuracy per item, and its model is the fixed spaCy pre-labeler; digits and lfw
hold PNG images, whose head is `--model pixels`, a logistic regression on their standardised
grayscale pixels). Full coverage
(default): every item ends labeled; compares the loop with "review all" and a Ground-Truth-style
policy. --budget N: people label at most N items; the queue's strategy against random sampling.
One JSON object per seed with --json, a table otherwise; a progress bar on stderr
(--no-progress: none). `--model hybrid` (default) trains the head on MiniLM embeddings stacked
with TF-IDF word and char n-grams, `--model minilm` on the embeddings alone. Embeddings are
cached under .local/cache/sim (first run: ~1 min per shipped dataset). Bad input: a message,
exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import get_args

from mitl_contracts.datasets import Policy
from mitl_ml.sim.boundcheck import BoundCheck, bound_check
from mitl_ml.sim.embeddings import DEFAULT_CACHE_DIR
from mitl_ml.sim.files import FileSource
from mitl_ml.sim.multilabel import MULTILABEL_SIM_DATASETS
from mitl_ml.sim.report import COVERAGE_HEADER, Report, budget_lines, coverage_lines, report
from mitl_ml.sim.runner import SimConfig, check_settings, runs
from mitl_ml.sim.spans import SPAN_SIM_DATASETS
from mitl_ml.sim.world import DEFAULT_MODEL, IMAGE_DATASETS, IMAGE_MODEL, SIM_DATASETS, SIM_MODELS
from mitl_policy.bounds import BOUND_METHODS
from mitl_runtime.progress import Progress
from pydantic import ValidationError

STRATEGIES = get_args(Policy.model_fields["uncertainty"].annotation)
# Policy fields the simulator sets, by the flag that sets them (for validation messages).
POLICY_FLAGS = {
    "target_precision": "--target-precision",
    "uncertainty": "--strategy",
    "diversity_weight": "--diversity",
    "spot_check_rate": "--spot-check-rate",
    "spot_check_max_rate": "--spot-check-max-rate",
    "calibration_rate": "--calibration-rate",
    "calibration_budget": "--calibration-budget",
    "calibration_max_rate": "--calibration-max-rate",
    "calibration_floor_budget": "--calibration-floor-budget",
    "calibration_queue_cap": "--calibration-queue-cap",
    "bound": "--bound",
    "min_accept_threshold": "--min-accept-threshold",
    "min_verified": "--min-verified",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="replay a labeled dataset through the loop",
        description="Replay a labeled dataset (a CSV/JSONL file or a shipped one) through the "
        "real router core and model; bad input exits with code 2.",
    )
    source = parser.add_argument_group("data (give --data FILE or --dataset NAME)")
    source.add_argument("--data", type=Path, help="a .csv or .jsonl/.json (JSON Lines) file")
    source.add_argument(
        "--dataset",
        choices=SIM_DATASETS + MULTILABEL_SIM_DATASETS + SPAN_SIM_DATASETS,
        help="a shipped dataset instead (yeast, wnut16-types: multi-label, one-vs-rest head)",
    )
    source.add_argument("--label-col", default=None, help="--data: label column (default label)")
    source.add_argument("--text-col", default=None, help="--data: text column (MiniLM-embedded)")
    source.add_argument(
        "--features-col", default=None, help="--data: column holding a JSON array of numbers"
    )
    parser.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    parser.add_argument("--seeds", default=None, help="several seeds, comma-separated: 0,1,2")
    parser.add_argument(
        "--target-precision", "--target", dest="target", type=float, default=0.98,
        help="precision auto-accepted labels must reach, in (0, 1)",
    )  # fmt: skip
    parser.add_argument("--budget", type=int, default=None, help="budget mode: max labels")
    parser.add_argument(
        "--annotator-error", "--error-rate", dest="error_rate", type=float, default=0.0,
        help="share of items annotators label wrongly, in [0, 1); experts are always right",
    )  # fmt: skip
    parser.add_argument("--retrain-every", type=int, default=50, help="human labels per retrain")
    parser.add_argument(
        "--retrain-growth", type=float, default=SimConfig.retrain_growth,
        help="full coverage: a round is at least this share of the human labels so far "
        "(0: always --retrain-every)",
    )  # fmt: skip
    parser.add_argument("--initial", type=int, default=100, help="random labels to start")
    parser.add_argument("--step", type=int, default=25, help="budget mode: labels per round")
    parser.add_argument(
        "--random-draws", type=int, default=5,
        help="budget mode: random sampling's curve is the mean of this many draws",
    )  # fmt: skip
    parser.add_argument(
        "--no-match-gt", dest="match_gt", action="store_false",
        help="full coverage: skip rerunning the loop at stricter floors to reach GT's accuracy",
    )  # fmt: skip
    parser.add_argument(
        "--model", choices=SIM_MODELS, default=None,
        help="head features: hybrid (MiniLM + TF-IDF word/char n-grams, the default for text) "
        "or minilm alone; pixels for the image datasets (digits, lfw; their default)",
    )  # fmt: skip
    parser.add_argument("--strategy", choices=STRATEGIES, default="margin")
    parser.add_argument("--diversity", type=float, default=0.0, help="near-duplicate penalty")
    parser.add_argument("--spot-check-rate", type=float, default=0.005)
    parser.add_argument("--spot-check-max-rate", type=float, default=0.02)
    parser.add_argument(
        "--calibration-rate", type=float, default=SimConfig.calibration_rate,
        help="share of confident predictions reviewed blind, at random, as threshold evidence",
    )  # fmt: skip
    parser.add_argument(
        "--calibration-budget", type=int, default=SimConfig.calibration_budget,
        help="calibration labels per class drawn at --calibration-max-rate until certified "
        "(default 2x the fewest all-correct items that certify the target)",
    )  # fmt: skip
    parser.add_argument(
        "--calibration-floor-budget", type=int, default=SimConfig.calibration_floor_budget,
        help="calibration labels the floor --calibration-rate may draw once the budget is "
        "spent; after them a certified class draws none (default: no end)",
    )  # fmt: skip
    parser.add_argument(
        "--calibration-queue-cap", action=argparse.BooleanOptionalAction,
        default=SimConfig.calibration_queue_cap,
        help="queue calibration reviews at raised rates only up to the unspent budget "
        "(the rest of a round goes to active learning; default off)",
    )  # fmt: skip
    parser.add_argument(
        "--calibration-max-rate", type=float, default=SimConfig.calibration_max_rate,
        help="the calibration rate while a class is not certified (adaptive sampling); "
        "0: a fixed --calibration-rate",
    )  # fmt: skip
    parser.add_argument(
        "--bound", choices=BOUND_METHODS, default=SimConfig.bound,
        help="one-sided lower bound the thresholds are certified with",
    )  # fmt: skip
    parser.add_argument(
        "--bound-check", action="store_true",
        help="instead of a dataset: how often each bound falsely certifies a threshold on "
        "synthetic streams just under --target, thresholds re-learned every 50 labels",
    )  # fmt: skip
    parser.add_argument(
        "--streams", type=int, default=BoundCheck.streams, help="--bound-check: streams"
    )
    parser.add_argument(
        "--min-accept-threshold", type=float, default=SimConfig.min_accept_threshold,
        help="no class threshold below this confidence",
    )  # fmt: skip
    parser.add_argument(
        "--min-verified", type=int, default=SimConfig.min_verified,
        help="verified items a class needs before it can be accepted",
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=None, help="use a random N-item subset")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG chart here")
    parser.add_argument("--json", action="store_true", help="one JSON object per seed")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false",
        help="no progress bar on stderr",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _seeds(args: argparse.Namespace) -> tuple[int, ...]:
    if args.seed is not None and args.seeds is not None:
        raise ValueError("give --seed N or --seeds LIST, not both")
    if args.seed is not None:
        return (args.seed,)
    if args.seeds is None:
        return (0,)
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    if not seeds:
        raise ValueError("--seeds is empty")
    return seeds


def _source(args: argparse.Namespace) -> FileSource | None:
    """The file to read, or None for a shipped dataset; exactly one of the two is needed."""
    file_flags = [
        f for f, v in (("--label-col", args.label_col), ("--text-col", args.text_col),
                       ("--features-col", args.features_col)) if v is not None
    ]  # fmt: skip
    if (args.data is None) == (args.dataset is None):
        raise ValueError("give --data FILE or --dataset NAME (exactly one)")
    if args.dataset is not None:
        if file_flags:
            raise ValueError(f"{', '.join(file_flags)} apply to --data FILE, not --dataset")
        return None
    if (args.text_col is None) == (args.features_col is None):
        raise ValueError("with --data, give exactly one of --text-col or --features-col")
    return FileSource(args.data, args.label_col or "label", args.text_col, args.features_col)


# SimConfig's fields not set from the flag of the same name: config_from derives them.
DERIVED = ("dataset", "seeds", "source")


def config_from(args: argparse.Namespace) -> SimConfig:
    """The run's SimConfig: every field but DERIVED is the flag of the same name."""
    source = _source(args)
    flags = {f.name: getattr(args, f.name) for f in fields(SimConfig) if f.name not in DERIVED}
    if flags["model"] is None:
        flags["model"] = IMAGE_MODEL if args.dataset in IMAGE_DATASETS else DEFAULT_MODEL
    return SimConfig(
        dataset=source.name if source is not None else args.dataset,
        seeds=_seeds(args),
        source=source,
        **flags,
    )


def policy_message(error: ValidationError) -> str:
    """One line per refused policy field, naming the flag and the field."""
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "policy"
        flag = POLICY_FLAGS.get(field)
        named = f"{flag} (policy field {field})" if flag else f"policy field {field}"
        parts.append(f"{named}: {problem['msg']}, got {problem.get('input')!r}")
    return "; ".join(parts)


def _fail(message: str) -> int:
    print(f"mitl simulate: {message}", file=sys.stderr, flush=True)
    return 2


def _bound_check(args: argparse.Namespace) -> int:
    try:
        result = bound_check(BoundCheck(streams=args.streams, target=args.target))
    except ValueError as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps(result), flush=True)
        return 0
    print(
        f"{result['streams']} streams at precision {result['true_precision']} under target "
        f"{result['target']}, thresholds re-learned every {result['relearn_every']} labels "
        f"up to {result['horizon']}:"
    )
    rates = result["false_certification_rate"]
    assert isinstance(rates, dict)
    for bound, rate in rates.items():
        print(f"  {bound:16} certified at some look: {rate:.3f}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.bound_check:
        return _bound_check(args)
    try:
        config = config_from(args)
        config.policy()  # refuse bad settings before loading (and maybe embedding) the data
        check_settings(config)
        reports: list[Report] = []
        for done in runs(config, progress=Progress(enabled=args.progress)):
            reports.append(report(done, config))
            _print(reports[-1], args.json, first=len(reports) == 1)
    except ValidationError as error:
        return _fail(policy_message(error))
    except ValueError as error:
        return _fail(str(error))
    if args.plot is not None:
        from mitl_ml.sim.plot import plot_reports  # matplotlib only when asked for

        written = plot_reports(reports, args.plot)
        print(f"mitl simulate: wrote {written}", file=sys.stderr, flush=True)
    return 0


def _print(result: Report, as_json: bool, first: bool) -> None:
    if as_json:
        print(json.dumps(result, allow_nan=False), flush=True)
        return
    if result["mode"] == "coverage":
        lines = ([COVERAGE_HEADER] if first else []) + coverage_lines(result)
    else:
        lines = ([] if first else [""]) + budget_lines(result)
    print("\n".join(lines), flush=True)
