"""`mitl export`: write a dataset's labeled items, each with its final label and the label's
provenance, to a JSONL or Parquet file (or CSV, Label Studio JSON, Hugging Face JSONL),
straight from the audit log in Postgres (the same rows GET /v1/export/{dataset} serves).

The file appears complete or not at all: it is written next to the target and renamed.
Exit codes: 0 written; 1 unknown dataset; 2 bad arguments (a window that ends before it
starts), a path that cannot be written, or an audit log that cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg
from mitl_contracts.datasets import load_catalog
from mitl_runtime.progress import Progress
from mitl_runtime.settings import ServiceSettings

from mitl_audit.cli import timestamp
from mitl_audit.core.export import FORMATS, Format, format_problem
from mitl_audit.export_file import ExportPathError
from mitl_audit.store import log
from mitl_audit.store.export import Selection, export_to

OK, UNKNOWN, UNUSABLE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a dataset's labeled items with provenance to a file (--format: which kind)",
    )
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    parser.add_argument("--out", type=Path, required=True, help="file to write")
    parser.add_argument(
        "--from", dest="start", type=timestamp, default=None, help="labels given at or after"
    )
    parser.add_argument(
        "--to", dest="end", type=timestamp, default=None, help="labels given before"
    )
    parser.add_argument("--batch", default=None, help="only items of this ingest batch")
    parser.add_argument("--database-url", default=None, help="default: MITL_DATABASE_URL")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


async def export(
    url: str,
    selection: Selection,
    out: Path,
    format: Format,
    in_catalog: bool,
    bar: Progress | None = None,
) -> int | None:
    """Items written, or None for a dataset neither in the catalog nor in the audit log (a
    dataset in the catalog with nothing audited yet exports no rows)."""
    conn = await asyncpg.connect(url)
    try:
        if not in_catalog and not await log.has_rows(conn, selection.dataset):
            return None
        report = bar.phase(f"export {selection.dataset}", "items") if bar is not None else None
        return await export_to(conn, selection, out, format, report)
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    if args.start and args.end and args.start > args.end:
        return fail(UNUSABLE, f"--from ({args.start}) is after --to ({args.end})")
    catalog = load_catalog(settings.datasets_file) if settings.datasets_file.exists() else None
    in_catalog = catalog is not None and args.dataset in catalog.datasets
    spec = catalog.datasets.get(args.dataset) if catalog is not None else None
    problem = format_problem(args.format, None if spec is None else spec.task)
    if problem is not None:
        return fail(UNUSABLE, problem)
    selection = Selection(args.dataset, args.start, args.end, args.batch)
    url = args.database_url or settings.database_url
    bar = Progress(enabled=not args.no_progress)
    try:
        count = asyncio.run(export(url, selection, args.out, args.format, in_catalog, bar))
    except ExportPathError as error:
        bar.close()
        return fail(UNUSABLE, str(error))
    except (OSError, asyncpg.PostgresError) as error:
        bar.close()
        return fail(UNUSABLE, f"cannot read the audit log: {type(error).__name__}: {error}")
    if count is None:
        return fail(UNKNOWN, f"unknown dataset {args.dataset!r}: not in the catalog, no audit rows")
    print(f"wrote {count} labeled items of {args.dataset} to {args.out} ({args.format})")
    return OK
