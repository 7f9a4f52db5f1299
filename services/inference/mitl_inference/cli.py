"""`mitl models list|register|promote|retire`: the model registry (inference's schema
`registry`, artifacts under MITL_ARTIFACT_DIR), as the inference service sees it.

- register BUNDLE_DIR: validate the bundle exactly as serving would (mitl_ml.load_model:
  digests, ONNX loadable, inputs/outputs match the manifest; model fits its dataset in the
  catalog), store it by sha256 and record it as a candidate.
- promote DATASET VERSION: make it the champion (the previous one is retired) and publish
  ModelPromoted on mitl.models.v1; every inference replica swaps to it.
- retire DATASET VERSION: retire a version that is not the champion.

Exit codes: 0 done (or nothing to do); 1 refused (bad bundle, unknown version, ...);
2 the database or the broker cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

OK, REFUSED, UNUSABLE = 0, 1, 2
Action = Callable[[Any, argparse.Namespace], Awaitable[int]]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("models", help="manage the model registry")
    parser.add_argument("--database-url", default=None, help="default: MITL_DATABASE_URL")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list registered versions")
    listing.add_argument("--dataset", default=None)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(func=lambda args: run(run_list, args))
    add = actions.add_parser("register", help="validate a bundle and register it as candidate")
    add.add_argument("bundle", type=Path, help="bundle directory (manifest.json and its files)")
    add.set_defaults(func=lambda args: run(run_register, args))
    for name, helptext in (
        ("promote", "make a version its dataset's champion and announce it"),
        ("retire", "retire a version that is not the champion"),
    ):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("dataset")
        sub.add_argument("version")
        sub.set_defaults(func=lambda args, name=name: run(ACTIONS[name], args))


def fail(code: int, message: str) -> int:
    print(f"mitl models: {message}", file=sys.stderr)
    return code


def run(action: Action, args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not load the inference service.
    from mitl_runtime.db import with_migrated_pool

    from mitl_inference.registration import RegistrationError
    from mitl_inference.settings import Settings
    from mitl_inference.store.registry import RegistryError

    settings = Settings()
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})

    try:
        return asyncio.run(
            with_migrated_pool(
                settings.database_url,
                "registry",
                "mitl_inference",
                lambda pool: action(Context(settings, pool), args),
                max_size=2,
            )
        )
    except (RegistrationError, RegistryError) as error:
        return fail(REFUSED, str(error))
    except (OSError, asyncpg.PostgresError) as error:
        return fail(UNUSABLE, f"cannot use the registry: {type(error).__name__}: {error}")


class Context:
    def __init__(self, settings: Any, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool


async def run_list(ctx: Context, args: argparse.Namespace) -> int:
    from mitl_inference.store import registry

    records = [r.summary() for r in await registry.listing(ctx.pool, args.dataset)]
    if args.json:
        print(json.dumps(records, indent=2))
        return OK
    for line in table_lines(records):
        print(line)
    return OK


def table_lines(records: list[dict[str, Any]]) -> list[str]:
    """`mitl models list` as text: a header and a row per version, each column as wide as
    its widest cell (a long kind such as minilm-int8-logreg no longer shifts the row)."""
    header = ("dataset", "version", "kind", "status", "sha256", "accuracy", "ECE")
    rows = [header]
    for r in records:
        accuracy, ece = r["holdout_accuracy"], r.get("holdout_ece")
        rows.append(
            (
                r["dataset"],
                r["version"],
                r["kind"],
                r["status"],
                str(r["artifact_sha256"])[:12],
                f"{accuracy:.3f}" if isinstance(accuracy, float) else "-",
                f"{ece:.4f}" if isinstance(ece, float) else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


async def run_register(ctx: Context, args: argparse.Namespace) -> int:
    from mitl_contracts.datasets import load_catalog
    from mitl_ml.artifacts import ArtifactStore

    from mitl_inference import registration

    if not ctx.settings.datasets_file.exists():
        return fail(REFUSED, f"datasets file {ctx.settings.datasets_file} not found")
    catalog = load_catalog(ctx.settings.datasets_file)
    record = await registration.register(
        ctx.pool,
        ArtifactStore(ctx.settings.artifact_dir),
        catalog,
        args.bundle,
        intra_op_threads=ctx.settings.intra_op_threads,
    )
    print(json.dumps(record.summary(), indent=2))
    return OK


async def publish_changes(ctx: Context) -> int:
    """Publish every recorded change not yet on mitl.models.v1 (this one and any a crash
    left behind)."""
    from mitl_runtime.broker import EventPublisher

    from mitl_inference.store import status_changes

    publisher = EventPublisher(ctx.settings, "cli")
    try:
        await publisher.start()
        events = await status_changes.publish_pending(ctx.pool, publisher)
    except Exception as error:  # the broker's client raises several kinds
        return fail(
            UNUSABLE,
            f"recorded in the registry but not announced ({type(error).__name__}: {error}); "
            "the inference service or the next `mitl models` change will announce it",
        )
    finally:
        await publisher.stop()
    for event in events:
        print(f"published {event.event_id}: {event.dataset} {event.model_version} {event.status}")
    return OK


async def run_promote(ctx: Context, args: argparse.Namespace) -> int:
    from mitl_inference.store import status_changes

    event = await status_changes.promote(ctx.pool, args.dataset, args.version)
    if event is None:
        print(f"{args.version} is already the champion of {args.dataset}")
    return await publish_changes(ctx)


async def run_retire(ctx: Context, args: argparse.Namespace) -> int:
    from mitl_inference.store import status_changes

    event = await status_changes.retire(ctx.pool, args.dataset, args.version)
    if event is None:
        print(f"{args.version} of {args.dataset} is already retired")
    return await publish_changes(ctx)


ACTIONS: dict[str, Action] = {"promote": run_promote, "retire": run_retire}
