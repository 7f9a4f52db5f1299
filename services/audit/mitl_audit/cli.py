"""`mitl audit verify` walks the audit log's hash chain; `mitl audit report` prints a dataset's
report (the same one GET /v1/reports/{dataset} serves), both straight from Postgres.

Exit codes: 0 ok; 1 the chain is broken (or the dataset is unknown); 2 bad arguments or the
audit log cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

import asyncpg
from mitl_contracts.datasets import load_catalog
from mitl_runtime.settings import ServiceSettings

from mitl_audit.core.chain import ChainVerifier, Verdict
from mitl_audit.core.entries import as_utc
from mitl_audit.core.report import Window
from mitl_audit.core.report_csv import to_csv
from mitl_audit.store import log, reports

OK, BROKEN, UNUSABLE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="check and report on the audit log")
    actions = parser.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="verify the audit log's hash chain")
    verify.add_argument("--database-url", default=None, help="default: MITL_DATABASE_URL")
    verify.set_defaults(func=run_verify)
    report = actions.add_parser("report", help="print a dataset's audit report")
    report.add_argument("--dataset", required=True)
    report.add_argument("--format", choices=("json", "csv"), default="json")
    report.add_argument("--from", dest="start", type=timestamp, default=None, help="ISO 8601")
    report.add_argument(
        "--to", dest="end", type=timestamp, default=None, help="ISO 8601, exclusive"
    )
    report.add_argument("--database-url", default=None, help="default: MITL_DATABASE_URL")
    report.set_defaults(func=run_report)


def timestamp(text: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 timestamp: {text!r}") from None


def fail(code: int, message: str) -> int:
    print(message, file=sys.stderr)
    return code


async def walk_chain(url: str) -> Verdict:
    conn = await asyncpg.connect(url)
    try:
        verifier = ChainVerifier()
        # Repeatable read: one snapshot, so rows appended meanwhile cannot look like a break.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for row in log.stream_rows(conn):
                if verifier.feed(row):
                    break
        return Verdict(verifier.rows, verifier.broken)
    finally:
        await conn.close()


def run_verify(args: argparse.Namespace) -> int:
    url = args.database_url or ServiceSettings().database_url
    try:
        verdict = asyncio.run(walk_chain(url))
    except (OSError, asyncpg.PostgresError) as error:
        return fail(UNUSABLE, f"cannot read the audit log: {type(error).__name__}: {error}")
    if verdict.broken is not None:
        broken = verdict.broken
        return fail(
            BROKEN,
            f"FAILED at seq {broken.seq} ({broken.problem}): {broken.detail}; "
            f"{verdict.rows} rows before it verified",
        )
    print(f"ok: {verdict.rows} rows")
    return OK


async def read_report(url: str, dataset: str, window: Window) -> tuple[bool, str, str]:
    """(has rows, report as JSON, report as CSV)."""
    conn = await asyncpg.connect(url)
    try:
        found = await log.has_rows(conn, dataset)
        report = await reports.load_report(conn, dataset, window)
    finally:
        await conn.close()
    return found, report.model_dump_json(by_alias=True, indent=2), to_csv(report)


def run_report(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    if args.start and args.end and args.start > args.end:
        return fail(UNUSABLE, f"--from ({args.start}) is after --to ({args.end})")
    window = Window(from_=args.start, to=args.end)
    try:
        found, as_json, as_csv = asyncio.run(
            read_report(args.database_url or settings.database_url, args.dataset, window)
        )
    except (OSError, asyncpg.PostgresError) as error:
        return fail(UNUSABLE, f"cannot read the audit log: {type(error).__name__}: {error}")
    catalog = load_catalog(settings.datasets_file) if settings.datasets_file.exists() else None
    if not found and (catalog is None or args.dataset not in catalog.datasets):
        return fail(BROKEN, f"unknown dataset {args.dataset!r}: not in the catalog, no audit rows")
    sys.stdout.write(as_csv if args.format == "csv" else as_json + "\n")
    return OK
