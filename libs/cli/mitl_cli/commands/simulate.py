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
with TF-IDF word and char n-grams, `--model hybrid-leading` (trec6's default) also on the
opening wordpiece's state, `--model minilm` on the embeddings alone. Embeddings are
cached under .local/cache/sim (first run: ~1 min per shipped dataset). Bad input: a message,
exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from mitl_contracts.datasets import Policy
from mitl_ml.sim.boundcheck import BoundCheck, bound_check
from mitl_ml.sim.files import FileSource
from mitl_ml.sim.multilabel import MULTILABEL_SIM_DATASETS
from mitl_ml.sim.report import COVERAGE_HEADER, Report, budget_lines, coverage_lines, report
from mitl_ml.sim.runner import SimConfig, check_settings, runs
from mitl_ml.sim.spans import SPAN_SIM_DATASETS
from mitl_ml.sim.world import SIM_DATASETS, SIM_MODELS, default_model
from mitl_policy.bounds import BOUND_METHODS
from mitl_runtime.progress import Progress
from pydantic import ValidationError

from mitl_cli.options import add_progress_argument

STRATEGIES = get_args(Policy.model_fields["uncertainty"].annotation)


@dataclass(frozen=True)
class Knob:
    """The flag that sets SimConfig's field `field` (`--field-name` unless `flags` names
    others): its default and type are the field's (a `T | None` field takes a T), so each
    knob's default lives in SimConfig alone. A bool field is a switch: `--no-x` stores False,
    any other name is `--x/--no-x`."""

    field: str
    help: str | None = None
    flags: tuple[str, ...] = ()
    choices: tuple[str, ...] | None = None
    # Overrides the field's default: --model's None means "the dataset's kind" (config_from).
    unset: bool = False
    # The Policy field it sets (SimConfig.policy) where the names differ; a knob named like a
    # Policy field sets that one. Validation messages name the flag (policy_message).
    policy: str | None = None

    def names(self) -> tuple[str, ...]:
        return self.flags or ("--" + self.field.replace("_", "-"),)


# SimConfig's knobs, in the order `mitl simulate --help` lists them.
KNOBS = (
    Knob("target", "precision auto-accepted labels must reach, in (0, 1)",
         flags=("--target-precision", "--target"), policy="target_precision"),
    Knob("budget", "budget mode: max labels"),
    Knob("error_rate",
         "share of items annotators label wrongly, in [0, 1); experts are always right",
         flags=("--annotator-error", "--error-rate")),
    Knob("retrain_every", "human labels per retrain"),
    Knob("retrain_growth",
         "full coverage: a round is at least this share of the human labels so far "
         "(0: always --retrain-every)"),
    Knob("initial", "random labels to start"),
    Knob("step", "budget mode: labels per round"),
    Knob("random_draws", "budget mode: random sampling's curve is the mean of this many draws"),
    Knob("match_gt",
         "full coverage: skip rerunning the loop at stricter floors to reach GT's accuracy",
         flags=("--no-match-gt",)),
    Knob("model",
         "head features: hybrid (MiniLM + TF-IDF word/char n-grams, the default for text), "
         "hybrid-leading (and the opening word's state: the trainer's MITL_HYBRID_LEADING; "
         "the default for trec6, whose questions it saves labels on) or minilm alone; pixels "
         "for the image datasets (digits, lfw; their default)",
         choices=SIM_MODELS, unset=True),
    Knob("strategy", choices=STRATEGIES, policy="uncertainty"),
    Knob("diversity", "near-duplicate penalty", policy="diversity_weight"),
    Knob("spot_check_rate"),
    Knob("spot_check_max_rate"),
    Knob("spot_check_evidence",
         "what the spot-check share's bound rests on: the spot checks alone, or every blind "
         "verdict of what is accepted (spot checks and calibration verdicts above the "
         "thresholds)",
         choices=get_args(Policy.model_fields["spot_check_evidence"].annotation)),
    Knob("calibration_rate",
         "share of confident predictions reviewed blind, at random, as threshold evidence"),
    Knob("calibration_budget",
         "calibration labels per class drawn at --calibration-max-rate until certified "
         "(default 2x the fewest all-correct items that certify the target)"),
    Knob("calibration_floor_budget",
         "calibration labels the floor --calibration-rate may draw once the budget is "
         "spent; after them a certified class draws none (default 0; 1000000: no end)"),
    Knob("calibration_queue_cap",
         "queue calibration reviews at raised rates only up to the unspent budget "
         "(the rest of a round goes to active learning; default on)"),
    Knob("calibration_max_rate",
         "the calibration rate while a class is not certified (adaptive sampling); "
         "0: a fixed --calibration-rate"),
    Knob("bound", "one-sided lower bound the thresholds are certified with",
         choices=BOUND_METHODS),
    Knob("min_accept_threshold", "no class threshold below this confidence"),
    Knob("min_verified",
         "verified items the classes need before they can be accepted (see "
         "--min-verified-scope)"),
    Knob("min_verified_scope",
         "dataset: --min-verified is shared, each class needs its share (rounded up); "
         "class: each class needs --min-verified",
         choices=get_args(Policy.model_fields["min_verified_scope"].annotation)),
    Knob("class_raise",
         "scope dataset: raise a class's threshold where its own calibration verdicts are "
         "under the target (observed) or significantly under it (significant, default)",
         choices=get_args(Policy.model_fields["class_raise"].annotation)),
    Knob("shared_threshold",
         "classes under their --min-verified share accept at the pooled threshold until "
         "their own replaces it (default on)"),
    Knob("limit", "use a random N-item subset"),
    Knob("cache_dir"),
)  # fmt: skip

# Policy fields the simulator sets, by the flag that sets them (for validation messages).
POLICY_FLAGS = {
    knob.policy or knob.field: knob.names()[0]
    for knob in KNOBS
    if knob.policy is not None or knob.field in Policy.model_fields
}


def add_knob(parser: argparse.ArgumentParser, knob: Knob) -> None:
    """Declare `knob`'s flag(s) on `parser`, storing into the SimConfig field's name."""
    default = next(f.default for f in fields(SimConfig) if f.name == knob.field)
    kind = _value_type(get_type_hints(SimConfig)[knob.field])
    options: dict[str, Any] = {"dest": knob.field, "help": knob.help}
    if kind is bool:
        negated = knob.names()[0].startswith("--no-")
        options["action"] = "store_false" if negated else argparse.BooleanOptionalAction
        if not negated:
            options["default"] = default
    else:
        options["default"] = None if knob.unset else default
        options["choices"] = knob.choices
        if kind is not str:
            options["type"] = kind
    parser.add_argument(*knob.names(), **options)


def _value_type(annotation: Any) -> type:
    """The type a flag's value is parsed to: T for a `T | None` field."""
    kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    return kinds[0] if kinds else annotation


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
    for knob in KNOBS:
        add_knob(parser, knob)
    parser.add_argument(
        "--bound-check", action="store_true",
        help="instead of a dataset: how often each bound falsely certifies a threshold on "
        "synthetic streams just under --target, thresholds re-learned every 50 labels",
    )  # fmt: skip
    parser.add_argument(
        "--streams", type=int, default=BoundCheck.streams, help="--bound-check: streams"
    )
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG chart here")
    parser.add_argument("--json", action="store_true", help="one JSON object per seed")
    add_progress_argument(parser, help="no progress bar on stderr")
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
        flags["model"] = default_model(args.dataset)
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
