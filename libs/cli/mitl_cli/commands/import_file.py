"""`mitl import FILE --dataset D`: ingest a CSV, JSON Lines, Parquet or Label Studio JSON file
through ingest's HTTP API (with the Python client, mitl_client.importer), with a progress bar on
stderr. Records it cannot take go to a rejects file (`FILE.rejects.jsonl`, one JSON object per
line with the line and the reason) and the rest carry on; rerunning it on the same file adds
nothing twice. The dataset's label set, which turns Label Studio predictions into client
predictions, comes from the datasets file (MITL_DATASETS_FILE).

Exit codes: 0 imported (rejects, if any, named); 1 the file is not what it claims (the message
names the line and the column) or ingest refused the dataset; 2 ingest cannot be reached or the
file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from mitl_client import ApiError, Endpoints, MitlClient, RetriesExhausted
from mitl_client.files import KINDS, BadFile, Kind, count, kind_of
from mitl_client.importer import ImportResult, import_file
from mitl_contracts.datasets import load_catalog
from mitl_runtime.settings import ServiceSettings

OK, REFUSED, UNUSABLE = 0, 1, 2


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        help="ingest a CSV, JSONL, Parquet or Label Studio JSON file (resumable)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--format", choices=KINDS, default=None, help="default: from the suffix")
    parser.add_argument("--text-column", default="text")
    parser.add_argument(
        "--id-column", default=None, help="default: external_id or id, else ids from the content"
    )
    parser.add_argument("--rejects", type=Path, default=None, help="default: FILE.rejects.jsonl")
    parser.add_argument("--batch-id", default=None, help="ingest batch; default: import-FILENAME")
    parser.add_argument("--batch-size", type=positive, default=500)
    parser.add_argument("--concurrency", type=positive, default=4)
    parser.add_argument("--ingest-url", default=None, help="default: MITL_INGEST_URL or :8001")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


class ProgressBar:
    """One line on stderr, redrawn at most every 0.2 s: records read, new, duplicate, rejected."""

    def __init__(self, name: str, total: int | None, out: TextIO | None = None) -> None:
        self.name = name
        self.total = total
        self.out = out if out is not None else sys.stderr
        self.shown = 0.0

    def __call__(self, result: ImportResult, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.shown < 0.2:
            return
        self.shown = now
        done = result.taken + result.rejected
        if self.total:
            share = min(done / self.total, 1.0)
            filled = int(share * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
        else:
            bar = ""
        self.out.write(
            f"\r{self.name}: {bar}{done} records: {result.accepted} new, "
            f"{result.duplicates} already there, {result.rejected} rejected"
        )
        if final:
            self.out.write("\n")
        self.out.flush()


def dataset_labels(dataset: str) -> list[str] | None:
    """The dataset's labels from the datasets file, None if it is not there."""
    try:
        path = ServiceSettings().datasets_file
        if path.exists():
            catalog = load_catalog(path)
            if dataset in catalog.datasets:
                return list(catalog.get(dataset).labels)
    except (OSError, ValueError):
        return None
    return None


def fail(code: int, message: str) -> int:
    print(f"mitl import: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        return fail(UNUSABLE, f"{path}: no such file")
    try:
        kind: Kind = args.format or kind_of(path)
    except BadFile as error:
        return fail(REFUSED, str(error))
    labels = dataset_labels(args.dataset) if kind == "label-studio" else None
    if kind == "label-studio" and labels is None:
        print(
            f"mitl import: {args.dataset!r} is not in the datasets file: Label Studio "
            "predictions are kept as metadata, not sent as client predictions",
            file=sys.stderr,
        )
    endpoints = Endpoints.from_env()
    if args.ingest_url:
        endpoints = Endpoints(
            ingest=args.ingest_url,
            inference=endpoints.inference,
            review=endpoints.review,
            audit=endpoints.audit,
        )
    bar = None if args.no_progress else ProgressBar(path.name, count(path, kind))
    try:
        with MitlClient(endpoints) as client:
            result = import_file(
                client,
                path,
                args.dataset,
                kind=kind,
                text_column=args.text_column,
                id_column=args.id_column,
                labels=labels,
                rejects=args.rejects,
                batch_id=args.batch_id,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                progress=bar,
            )
    except BadFile as error:
        if bar is not None:
            sys.stderr.write("\n")
        return fail(REFUSED, str(error))
    except ApiError as error:
        if bar is not None:
            sys.stderr.write("\n")
        return fail(REFUSED if error.status in (404, 422) else UNUSABLE, str(error))
    except (RetriesExhausted, OSError) as error:
        if bar is not None:
            sys.stderr.write("\n")
        return fail(UNUSABLE, str(error))
    if bar is not None:
        bar(result, final=True)
    print(
        f"imported {path} into {args.dataset}: {result.records} records, {result.accepted} new, "
        f"{result.duplicates} already there, {result.rejected} rejected"
        + (f" (see {result.rejects_path})" if result.rejects_path else "")
    )
    return OK
