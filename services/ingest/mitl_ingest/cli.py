"""`mitl clients create|list|rotate|revoke|scope`: ingest's client keys.

Each change is recorded in audit's chain (mitl.access.v1, through ingest's outbox, published
by the running service) with `cli:<os user>` as who made it; never the key.

A key goes to stdout alone (so `KEY=$(mitl clients create ...)` works) and the message to
stderr; it is shown once, only its sha256 is stored. Uses MITL_DATABASE_URL and migrates the
ingest schema first."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from mitl_cli.shown_once import show_once

DEFAULT_RATE = 20.0
DEFAULT_BURST = 40
DEFAULT_BODY = 10 * 1024 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("clients", help="manage ingest's client keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a client and print its key (shown once)")
    create.add_argument("--name", required=True, help="the client's id: letters, digits _ . : -")
    create.add_argument(
        "--dataset", action="append", default=[], help="a dataset it may write (repeatable)"
    )
    create.add_argument("--all-datasets", action="store_true", help="it may write every dataset")
    create.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help=f"requests a second ({DEFAULT_RATE:g})"
    )
    create.add_argument(
        "--burst", type=int, default=DEFAULT_BURST, help=f"requests at once ({DEFAULT_BURST})"
    )
    create.add_argument(
        "--max-body-bytes", type=int, default=DEFAULT_BODY, help=f"({DEFAULT_BODY})"
    )
    create.set_defaults(func=run_create)
    listing = actions.add_parser("list", help="the clients, their scope, limits and state")
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    listing.set_defaults(func=run_list)
    rotate = actions.add_parser("rotate", help="a new key for a client; the old one stops now")
    rotate.add_argument("name")
    rotate.set_defaults(func=run_rotate)
    revoke = actions.add_parser("revoke", help="revoke a client's key, at once")
    revoke.add_argument("name")
    revoke.set_defaults(func=run_revoke)
    rescope = actions.add_parser(
        "scope", help="change the datasets a client's key may write (at once)"
    )
    rescope.add_argument("name")
    rescope.add_argument(
        "--dataset", action="append", default=[], help="a dataset it may write (repeatable)"
    )
    rescope.add_argument("--all-datasets", action="store_true", help="it may write every dataset")
    rescope.set_defaults(func=run_scope)


def _fail(action: str, message: str, code: int) -> int:
    print(f"mitl clients {action}: {message}", file=sys.stderr)
    return code


def _run(work: Callable[[Any], Awaitable[Any]]) -> Any:
    from mitl_runtime.db import with_migrated_pool

    from mitl_ingest.settings import Settings

    return asyncio.run(with_migrated_pool(Settings().database_url, "ingest", "mitl_ingest", work))


def run_create(args: argparse.Namespace) -> int:
    from mitl_ingest import client_store
    from mitl_ingest.clients import is_name, scope

    if not is_name(args.name):
        return _fail("create", f"--name {args.name!r}: letters, digits and _ . : - only", 2)
    if args.rate <= 0 or args.burst < 1 or args.max_body_bytes < 1024:
        return _fail("create", "--rate must be > 0, --burst >= 1, --max-body-bytes >= 1024", 2)
    try:
        datasets = scope(args.dataset, args.all_datasets)
    except ValueError as error:
        return _fail("create", str(error), 2)
    try:
        key = _run(
            lambda pool: client_store.create(
                pool, args.name, datasets, args.rate, args.burst, args.max_body_bytes
            )
        )
    except client_store.ClientExists as error:
        return _fail("create", str(error), 1)
    return show_once(
        key,
        f"created client {args.name!r} for {', '.join(datasets)}; the key below is shown only once",
    )


def run_list(args: argparse.Namespace) -> int:
    from mitl_ingest import client_store

    listed = _run(client_store.listing)
    rows = [
        {
            "client_id": entry.client.client_id,
            "datasets": list(entry.client.datasets),
            "rate_per_s": entry.client.rate_per_s,
            "burst": entry.client.burst,
            "max_body_bytes": entry.client.max_body_bytes,
            "created_at": entry.created_at.isoformat(),
            "rotated_at": entry.rotated_at.isoformat() if entry.rotated_at else None,
            "revoked_at": entry.revoked_at.isoformat() if entry.revoked_at else None,
        }
        for entry in listed
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        print(
            f"{row['client_id']}\t{','.join(row['datasets'])}\t{row['rate_per_s']:g}/s "
            f"burst {row['burst']}\t{row['max_body_bytes']} B\t{state}"
        )
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from mitl_ingest import client_store

    try:
        key = _run(lambda pool: client_store.rotate(pool, args.name))
    except client_store.NoSuchClient as error:
        return _fail("rotate", str(error), 1)
    return show_once(key, f"rotated client {args.name!r}; the old key no longer works")


def run_revoke(args: argparse.Namespace) -> int:
    from mitl_ingest import client_store

    try:
        changed = _run(lambda pool: client_store.revoke(pool, args.name))
    except client_store.NoSuchClient as error:
        return _fail("revoke", str(error), 1)
    print(f"revoked client {args.name!r}" + ("" if changed else " (it was already)"))
    return 0


def run_scope(args: argparse.Namespace) -> int:
    from mitl_ingest import client_store
    from mitl_ingest.clients import scope

    try:
        datasets = scope(args.dataset, args.all_datasets)
    except ValueError as error:
        return _fail("scope", str(error), 2)
    try:
        was = _run(lambda pool: client_store.rescope(pool, args.name, datasets))
    except client_store.NoSuchClient as error:
        return _fail("scope", str(error), 1)
    print(f"client {args.name!r} may write {', '.join(datasets)} (was {', '.join(was)})")
    return 0
