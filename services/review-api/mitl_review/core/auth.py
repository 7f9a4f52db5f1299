"""Users, roles and tokens. A token is shown once; only its sha256 is stored.

A user has a stable id (what tasks, labels and quality history record) and a display name. A
user may be disabled, a token may expire, and annotators and experts may be assigned datasets:
a user never assigned one works on every dataset (as before assignments existed); once assigned,
only on the assigned ones (unassigning the last leaves none). Admins see every dataset."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from mitl_contracts.events import Queue

from mitl_review.core.errors import Forbidden, Unauthenticated

Role = Literal["annotator", "expert", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
TOKEN_BYTES = 32

# Experts can help with the annotator backlog; annotators never see expert work. Admins manage
# people and queues and do not label (a label's source is a labeling role).
CLAIMABLE_QUEUES: dict[str, frozenset[str]] = {
    "annotator": frozenset({"annotator"}),
    "expert": frozenset({"annotator", "expert"}),
    "admin": frozenset(),
}


@dataclass(frozen=True)
class User:
    id: str
    role: Role
    display_name: str = ""
    # None: every dataset (never assigned one); else only these.
    datasets: frozenset[str] | None = None

    @property
    def name(self) -> str:
        """The name shown to people."""
        return self.display_name or self.id

    def may_use(self, dataset: str) -> bool:
        return self.role == "admin" or self.datasets is None or dataset in self.datasets


@dataclass(frozen=True)
class Account:
    """A user as stored, with what decides whether their token is good now."""

    user: User
    disabled_at: datetime | None
    token_expires_at: datetime | None


def active_user(account: Account, now: datetime) -> User:
    """The user if their token is good at `now`; else the refusal, with its reason."""
    if account.disabled_at is not None and account.disabled_at <= now:
        raise Forbidden(
            f"user {account.user.id!r} is disabled; an admin can enable them again "
            "(their past work stays)"
        )
    if account.token_expires_at is not None and account.token_expires_at <= now:
        raise Unauthenticated(
            "the token has expired; an admin can issue a new one with `mitl users rotate-token`"
        )
    return account.user


AccountStatus = Literal["active", "disabled", "expired"]


def account_status(account: Account, now: datetime) -> AccountStatus:
    if account.disabled_at is not None:
        return "disabled"
    if account.token_expires_at is not None and account.token_expires_at <= now:
        return "expired"
    return "active"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_can_claim(user: User, queue: Queue | str) -> None:
    """Raise Forbidden unless `user`'s role may work on tasks in `queue`."""
    if user.role == "admin":
        raise Forbidden("admins manage users and queues; labeling takes an annotator or expert")
    if queue not in CLAIMABLE_QUEUES[user.role]:
        allowed = " and ".join(sorted(CLAIMABLE_QUEUES[user.role]))
        raise Forbidden(f"a {user.role} may work on {allowed} queues, not the {queue} queue")


def check_dataset(user: User, dataset: str) -> None:
    """Raise Forbidden unless `user` is assigned `dataset` (or needs no assignment)."""
    if not user.may_use(dataset):
        raise Forbidden(
            f"you are not assigned the dataset {dataset!r}; an admin assigns datasets with "
            "`mitl users assign`"
        )


def check_admin(user: User) -> None:
    if user.role != "admin":
        raise Forbidden(f"only an admin may do this; you are a {user.role}")
