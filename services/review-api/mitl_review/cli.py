"""`mitl users …`: review-api users and their lifecycle, straight in the review database
(MITL_DATABASE_URL; the schema is migrated first).

- `create` prints the new user's token, once: the token goes to stdout alone (so
  `TOKEN=$(mitl users create ...)` works) and the message to stderr. Only its sha256 is stored.
- `list` shows every user: id, display name, role, status, token expiry, datasets.
- `disable` / `enable`: a disabled user's token is refused; what they submitted stays.
- `rotate-token` prints a new token, once; the old one stops working at once.
- `assign` / `unassign` datasets: a user never assigned one works on every dataset; from the
  first assignment on, only on the assigned ones. Admins see every dataset.

A running review API hears of each change from the database and drops its cached tokens.
Each change is also recorded in audit's chain (mitl.access.v1, through the review outbox),
with `cli:<os user>` as who made it; never the token.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from mitl_cli.shown_once import show_once

if TYPE_CHECKING:
    import asyncpg

    from mitl_review.store.users import Listed

T = TypeVar("T")
MAX_DAYS = 3650


def days(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {value!r}") from None
    if not 1 <= number <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"days must be between 1 and {MAX_DAYS}, not {number}")
    return number


def dataset_list(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one dataset")
    return names


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("users", help="manage review-api users")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="create a user and print their token (shown once); uses MITL_DATABASE_URL"
    )
    create.add_argument(
        "--name", required=True, help="the user's stable id: letters, digits and _ . : -"
    )
    create.add_argument("--role", required=True, choices=["annotator", "expert", "admin"])
    create.add_argument("--display-name", help="the name shown to people (default: --name)")
    create.add_argument(
        "--expires-in-days", type=days, help="the token expires after this many days"
    )
    create.add_argument(
        "--datasets",
        type=dataset_list,
        help="comma-separated: the only datasets the user may see and claim (default: all)",
    )
    create.set_defaults(func=run_create)

    listing = actions.add_parser("list", help="list every user (no tokens)")
    listing.set_defaults(func=run_list)

    for action, text in (("disable", "refuse the user's token"), ("enable", "accept it again")):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("user_id")
        sub.set_defaults(func=run_disable if action == "disable" else run_enable)

    rotate = actions.add_parser(
        "rotate-token", help="issue a new token (shown once); the old one stops working at once"
    )
    rotate.add_argument("user_id")
    rotate.add_argument(
        "--expires-in-days", type=days, help="the new token expires after this many days"
    )
    rotate.set_defaults(func=run_rotate)

    for action, text in (
        ("assign", "let the user see and claim these datasets (and, from now on, only assigned)"),
        ("unassign", "take these datasets away from the user"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("user_id")
        sub.add_argument("datasets", nargs="+", metavar="dataset")
        sub.set_defaults(func=run_assign if action == "assign" else run_unassign)


def with_pool(action: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run `action` with a pool on the review database, migrated first."""
    from mitl_runtime.db import with_migrated_pool

    from mitl_review.settings import Settings

    return asyncio.run(with_migrated_pool(Settings().database_url, "review", "mitl_review", action))


def known_datasets(names: list[str], command: str) -> frozenset[str] | None:
    """The names if every one is in the catalog; else None, with the fault on stderr."""
    from mitl_contracts.datasets import load_catalog

    from mitl_review.settings import Settings

    catalog = load_catalog(Settings().datasets_file)
    unknown = sorted(set(names) - set(catalog.datasets))
    if unknown:
        print(
            f"mitl users {command}: unknown dataset(s) {', '.join(unknown)}; the catalog has "
            f"{', '.join(sorted(catalog.datasets))}",
            file=sys.stderr,
        )
        return None
    return frozenset(names)


def attempt(command: str, action: Callable[[asyncpg.Pool], Awaitable[T]]) -> T | None:
    """`with_pool(action)`, or None with the review error's message on stderr."""
    from mitl_runtime.status_error import StatusError

    try:
        return with_pool(action)
    except StatusError as error:
        print(f"mitl users {command}: {error.message}", file=sys.stderr)
        return None


def run_create(args: argparse.Namespace) -> int:
    # Imported here so that other subcommands do not load the review service.
    from pydantic import ValidationError

    from mitl_review.schemas import UserCreate
    from mitl_review.store import users

    try:
        user = UserCreate(name=args.name, role=args.role, display_name=args.display_name)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(f"mitl users create: {problems}", file=sys.stderr)
        return 2
    datasets = None
    if args.datasets is not None:
        datasets = known_datasets(args.datasets, "create")
        if datasets is None:
            return 2
    expires = timedelta(days=args.expires_in_days) if args.expires_in_days else None
    token = attempt(
        "create",
        lambda pool: users.create(
            pool,
            user.name,
            user.role,
            display_name=user.display_name,
            expires_in=expires,
            datasets=datasets,
        ),
    )
    if token is None:
        return 1
    return show_once(
        token, f"created {user.role} {user.name!r}; the token below is shown only once"
    )


async def create_user(database_url: str, name: str, role: str) -> str:
    """Create a user (migrating the review schema first) and return their token."""
    from mitl_runtime.db import with_migrated_pool

    from mitl_review.store import users

    return await with_migrated_pool(
        database_url, "review", "mitl_review", lambda pool: users.create(pool, name, role)
    )


def status(listed: Listed, now: datetime) -> str:
    from mitl_review.core.auth import account_status

    return account_status(listed.account, now)


def table(rows: list[Listed], now: datetime) -> str:
    """The users as aligned columns."""
    lines = [("ID", "NAME", "ROLE", "STATUS", "TOKEN EXPIRES", "DATASETS")]
    for r in rows:
        user = r.account.user
        expires = r.account.token_expires_at
        lines.append(
            (
                user.id,
                user.name,
                user.role,
                status(r, now),
                "(sso)"
                if r.sso_issuer
                else expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
                if expires
                else "never",
                "(all)" if user.datasets is None else ",".join(sorted(user.datasets)) or "(none)",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def run_list(_: argparse.Namespace) -> int:
    from mitl_review.store import users

    rows = with_pool(users.listed)
    print(table(rows, datetime.now(UTC)))
    return 0


def done(result: Any, message: str) -> int:
    if result is None:
        return 1
    print(message, file=sys.stderr)
    return 0


async def _true(awaitable: Awaitable[None]) -> bool:
    await awaitable
    return True


def run_disable(args: argparse.Namespace) -> int:
    from mitl_review.store import users

    ok = attempt("disable", lambda pool: _true(users.set_disabled(pool, args.user_id, True)))
    return done(ok, f"disabled {args.user_id!r}; their token is refused from now on")


def run_enable(args: argparse.Namespace) -> int:
    from mitl_review.store import users

    ok = attempt("enable", lambda pool: _true(users.set_disabled(pool, args.user_id, False)))
    return done(ok, f"enabled {args.user_id!r}")


def run_rotate(args: argparse.Namespace) -> int:
    from mitl_review.store import users

    expires = timedelta(days=args.expires_in_days) if args.expires_in_days else None
    rotated = attempt("rotate-token", lambda pool: users.rotate_token(pool, args.user_id, expires))
    if rotated is None:
        return 1
    token, _ = rotated
    return show_once(
        token, f"new token for {args.user_id!r}, shown only once; the old one no longer works"
    )


def run_assign(args: argparse.Namespace) -> int:
    from mitl_review.store import users

    datasets = known_datasets(args.datasets, "assign")
    if datasets is None:
        return 2
    ok = attempt("assign", lambda pool: _true(users.assign(pool, args.user_id, datasets)))
    return done(ok, f"assigned {', '.join(sorted(datasets))} to {args.user_id!r}")


def run_unassign(args: argparse.Namespace) -> int:
    from mitl_review.store import users

    # Not checked against the catalog: a dataset since removed from it can still be taken away.
    datasets = frozenset(args.datasets)
    ok = attempt("unassign", lambda pool: _true(users.unassign(pool, args.user_id, datasets)))
    return done(ok, f"unassigned {', '.join(sorted(datasets))} from {args.user_id!r}")
