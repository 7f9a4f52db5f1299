"""`mitl bootstrap DATASET FILE`: a dataset's first model, trained from a file of labeled items
as the trainer trains every later version (core/seed.py says what the file holds).

It writes a model bundle (by default `models/<dataset>-seed`) and says how to serve it: name
it as the dataset's `model:` in the datasets file (inference registers and promotes it at
start), or register and promote it with `mitl models`. The records it leaves out are listed
with their line and why; nothing is served or stored in a database.

Exit codes: 0 written; 1 refused (unknown dataset, a file that is not what it claims, too few
labels of a class, a dataset kind it cannot train).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

OK, REFUSED = 0, 1
SHOWN_LEFT_OUT = 10
SHOWN_LINES = 5
# The held-out figures printed (all are in --json and the manifest).
REPORTED = (
    "holdout_accuracy",
    "holdout_ece",
    "holdout_entity_f1",
    "holdout_label_decision_accuracy",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bootstrap",
        help="train a dataset's first model from a file of labeled items",
        description=(
            "Train a dataset's first model from a CSV, JSON Lines, Parquet or Label Studio "
            "file of labeled items, or a folder of labeled images (one subfolder per label), as "
            "the trainer trains later versions: single-label and multi-label text and "
            "vectors, entity spans, images. Writes a model bundle."
        ),
    )
    parser.add_argument("dataset", help="a dataset of the datasets file")
    parser.add_argument("file", type=Path, help="the labeled items")
    parser.add_argument(
        "--label-column",
        default="label",
        help="the column holding each item's label (default label; a Label Studio export's "
        "annotations: ls_annotation). Multi-label: labels joined by | or a JSON array; "
        "spans: a JSON array of {start, end, label}",
    )
    parser.add_argument("--text-column", default="text", help="the text column (default text)")
    parser.add_argument(
        "--id-column",
        default=None,
        help="the item id column (default: external_id or id, else derived from the content)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: models/<dataset>-seed")
    parser.add_argument(
        "--datasets-file", type=Path, default=None, help="default: MITL_DATASETS_FILE"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


FOLDER_UNLABELED = "at the top of the folder: no subfolder names its label"


def fail(message: str) -> int:
    print(f"mitl bootstrap: {message}", file=sys.stderr)
    return REFUSED


def declared(args: argparse.Namespace) -> tuple[Any, Any]:
    """The trainer's settings and the dataset `args.dataset` names in the datasets file
    (`args.datasets_file`, else MITL_DATASETS_FILE); UnknownDataset if it names none."""
    from mitl_contracts.datasets import load_catalog

    from mitl_trainer.settings import Settings

    settings = Settings()
    catalog = load_catalog(args.datasets_file or settings.datasets_file)
    return settings, catalog.get(args.dataset)


def run(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not load the trainer and its ML stack.
    from mitl_client.files import BadFile, Rejected, read
    from mitl_client.importer import named
    from mitl_contracts.datasets import UnknownDataset
    from mitl_ml.manifest import write_bundle
    from mitl_ml.quantize import default_encoder

    from mitl_trainer import training as trainers
    from mitl_trainer.core import schedule
    from mitl_trainer.core.seed import SeedRecord, seed_set

    try:
        settings, dataset = declared(args)
    except UnknownDataset as error:
        return fail(str(error))
    if not args.file.exists():
        return fail(f"{args.file}: no such file or folder")

    records: list[SeedRecord] = []
    left_out: list[tuple[int, str]] = []
    # A folder's records are its files: messages name them, not lines.
    names: dict[int, str] | None = {} if args.file.is_dir() else None
    try:
        for record in read(args.file, text_column=args.text_column, id_column=args.id_column,
                           labels=dataset.labels):  # fmt: skip
            if names is not None:
                names[record.line] = (
                    record.external_id if isinstance(record, Rejected) else record.item.external_id
                ) or str(record.line)
            if isinstance(record, Rejected):
                left_out.append((record.line, record.reason))
                continue
            item = record.item
            records.append(
                SeedRecord(
                    line=record.line,
                    external_id=item.external_id,
                    text=item.text,
                    vector=item.vector,
                    image=item.image,
                    label=item.metadata.get(args.label_column),
                )
            )
    except BadFile as error:
        return fail(str(error))
    seed = seed_set(
        dataset,
        records,
        holdout_fraction=settings.holdout_fraction,
        label_column=args.label_column,
    )
    for line, reason in seed.left_out:
        unlabeled = names is not None and reason.startswith("no label")
        left_out.append((line, FOLDER_UNLABELED if unlabeled else reason))
    training = seed.training
    kind = trainers.kind_for(dataset, settings.model_kind)
    ready = schedule.readiness(
        training.verified,
        trainers.class_counts(kind, training),
        dataset.labels,
        min_labels=1,
        min_per_class=settings.min_per_class,
        dataset=dataset.name,
    )
    if not ready.ready:
        _print_left_out(left_out, names)
        return fail(f"{args.file}: {ready.reason}")

    provenance = {
        "trigger": "bootstrap",
        "trigger_ref": named(args.file).name,
        "seed_file_sha256": seed_digest(args.file),
        "left_out": len(left_out),
    }
    rules = trainers.Rules.of(settings, kind, dataset)
    encoder = default_encoder(intra_op_threads=settings.intra_op_threads)
    candidate = trainers.train_candidate(dataset, training, None, rules, encoder, provenance)
    out = args.out or Path("models") / f"{dataset.name}-seed"
    manifest = write_bundle(out, candidate.manifest, candidate.files)
    summary = _summary(manifest.model_dump(mode="json"), out, training, left_out, kind, names)
    if args.json:
        print(json.dumps(summary, indent=2))
        return OK
    _print_left_out(left_out, names)
    print(_report(summary, dataset.name, len(training.holdout), settings.min_holdout))
    return OK


def seed_digest(path: Path) -> str:
    """The seed file's sha256; a folder's, over its files' names and contents in order."""
    if not path.is_dir():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _summary(
    manifest: dict[str, Any],
    out: Path,
    training: Any,
    left_out: list[tuple[int, str]],
    kind: str,
    names: dict[int, str] | None,
) -> dict[str, Any]:
    return {
        "bundle": str(out),
        "version": manifest["version"],
        "kind": kind,
        "train": len(training.train),
        "holdout": len(training.holdout),
        "label_counts": manifest["training"]["trainer"]["label_counts"],
        "metrics": {k: v for k, v in manifest["metrics"].items() if k.startswith("holdout_")},
        "left_out": [
            {"line": line, "reason": reason, **({"file": names[line]} if names else {})}
            for line, reason in sorted(left_out)
        ],
    }


def _print_left_out(left_out: list[tuple[int, str]], names: dict[int, str] | None = None) -> None:
    """The records left out, one line per reason with the lines it applies to (a file of
    which only some items are labeled leaves out the rest for one reason); for a folder
    (`names`: each record's file), the files instead of lines."""
    if not left_out:
        return
    by_reason: dict[str, list[str]] = {}
    for line, reason in sorted(left_out):
        name = names.get(line) if names is not None else None
        prefix = re.escape(name) if name is not None else r"line \d+"
        by_reason.setdefault(re.sub(rf"^{prefix}: ", "", reason), []).append(name or str(line))
    print(f"left out {len(left_out)} record(s):")
    for reason, places in list(by_reason.items())[:SHOWN_LEFT_OUT]:
        shown = ", ".join(places[:SHOWN_LINES]) + (" ..." if len(places) > SHOWN_LINES else "")
        if names is not None:
            where = shown if len(places) == 1 else f"{len(places)} files ({shown})"
        else:
            where = (
                f"line {shown}" if len(places) == 1 else f"{len(places)} records (lines {shown})"
            )
        print(f"  {where}: {reason}")
    if len(by_reason) > SHOWN_LEFT_OUT:
        print(f"  ... and {len(by_reason) - SHOWN_LEFT_OUT} more reasons (--json lists all)")


def _report(summary: dict[str, Any], dataset: str, holdout: int, min_holdout: int) -> str:
    metrics = summary["metrics"]
    shown = ", ".join(
        f"{name.removeprefix('holdout_')} {value:.3f}"
        for name, value in metrics.items()
        if name in REPORTED
    )
    lines = [
        f"wrote {summary['bundle']}: {summary['version']} ({summary['kind']}), trained on "
        f"{summary['train']} items, evaluated on {holdout} held out"
        + (f": {shown}" if shown and holdout else ""),
    ]
    if holdout < min_holdout:
        lines.append(
            f"note: {holdout} held-out items (the trainer promotes on at least {min_holdout}); "
            "the figures above are rough"
        )
    lines += [
        "serve it: set `model: <path>` for the dataset in the datasets file and restart "
        "inference (it is registered and promoted as the first champion), or",
        f"  mitl models register {summary['bundle']} && mitl models promote {dataset} "
        f"{summary['version']}",
    ]
    return "\n".join(lines)
