"""`mitl users create`: create a review-api user and print their token, once.

The token goes to stdout alone (so `TOKEN=$(mitl users create ...)` works) and the message to
stderr. Only the token's sha256 is stored; a lost token means creating a new user.
"""

from __future__ import annotations

import argparse
import asyncio
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("users", help="manage review-api users")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="create a user and print their token (shown once); uses MITL_DATABASE_URL"
    )
    create.add_argument("--name", required=True, help="letters, digits and _ . : -")
    create.add_argument("--role", required=True, choices=["annotator", "expert", "admin"])
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not load the review service.
    from pydantic import ValidationError

    from mitl_review.core.errors import Conflict
    from mitl_review.schemas import UserCreate
    from mitl_review.settings import Settings

    try:
        user = UserCreate(name=args.name, role=args.role)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(f"mitl users create: {problems}", file=sys.stderr)
        return 2
    settings = Settings()
    try:
        token = asyncio.run(create_user(settings.database_url, user.name, user.role))
    except Conflict as error:
        print(f"mitl users create: {error.message}", file=sys.stderr)
        return 1
    print(f"created {user.role} {user.name!r}; the token below is shown only once", file=sys.stderr)
    print(token)
    return 0


async def create_user(database_url: str, name: str, role: str) -> str:
    """Create a user (migrating the review schema first) and return their token."""
    from mitl_runtime.db import create_pool, migrate

    from mitl_review.store import users

    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await migrate(pool, "review", "mitl_review")
        return await users.create(pool, name, role)
    finally:
        await pool.close()
