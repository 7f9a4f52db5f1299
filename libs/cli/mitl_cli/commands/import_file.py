"""`mitl import FILE --dataset D`: ingest a CSV, JSON Lines, Parquet or Label Studio JSON file, or
a folder of PNG and JPEG images (one subfolder per label, or none), through ingest's HTTP API
(with the Python client, mitl_client.importer), with a progress bar on stderr. Records it cannot
take go to a rejects file (`FILE.rejects.jsonl`, one JSON object per line with the line and the
reason) and the rest carry on; rerunning it on the same file adds nothing twice. The dataset's
label set, which turns Label Studio predictions into client predictions, comes from the datasets
file (MITL_DATASETS_FILE).

Exit codes: 0 imported (rejects, if any, named); 1 the file is not what it claims (the message
names the line and the column) or ingest refused the dataset; 2 ingest cannot be reached or the
file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from mitl_client import ApiError, Endpoints, MitlClient, RetriesExhausted
from mitl_client.files import KINDS, BadFile, Kind, count, kind_of
from mitl_client.importer import ImportResult, import_file
from mitl_contracts.datasets import load_catalog
from mitl_runtime.progress import Progress
from mitl_runtime.settings import ServiceSettings

from mitl_cli.commands import positive

OK, REFUSED, UNUSABLE = 0, 1, 2
# The flags import_file takes as they are, each as the keyword of the same name.
PASSED_THROUGH = ("text_column", "id_column", "rejects", "batch_id", "batch_size", "concurrency")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        help="ingest a CSV, JSONL, Parquet or Label Studio JSON file, or a folder of images "
        "(resumable)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument(
        "--format", choices=KINDS, default=None, help="default: a folder, else from the suffix"
    )
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


def import_progress(bar: Progress, name: str, total: int | None) -> Callable[..., None]:
    """Records read (of the file's count), and how many were new, already there, rejected."""
    report = bar.phase(name, "records")

    def show(result: ImportResult, final: bool = False) -> None:
        detail = (
            f"{result.accepted} new, {result.duplicates} already there, {result.rejected} rejected"
        )
        report(result.taken + result.rejected, total, detail, final=final)

    return show


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
    if not path.exists():
        return fail(UNUSABLE, f"{path}: no such file or folder")
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
    bar = Progress(enabled=not args.no_progress)
    show = import_progress(bar, path.name, count(path, kind))
    try:
        with MitlClient(endpoints) as client:
            passed = {name: getattr(args, name) for name in PASSED_THROUGH}
            result = import_file(
                client, path, args.dataset, kind=kind, labels=labels, progress=show, **passed
            )
    except BadFile as error:
        bar.close()
        return fail(REFUSED, str(error))
    except ApiError as error:
        bar.close()
        return fail(REFUSED if error.status in (404, 422) else UNUSABLE, str(error))
    except (RetriesExhausted, OSError) as error:
        bar.close()
        return fail(UNUSABLE, str(error))
    show(result, final=True)
    print(
        f"imported {path} into {args.dataset}: {result.records} records, {result.accepted} new, "
        f"{result.duplicates} already there, {result.rejected} rejected"
        + (f" (see {result.rejects_path})" if result.rejects_path else "")
    )
    return OK
