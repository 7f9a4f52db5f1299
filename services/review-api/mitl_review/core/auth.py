"""Users, roles and tokens. A token is shown once; only its sha256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from mitl_contracts.events import Queue

from mitl_review.core.errors import Forbidden

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
    name: str
    role: Role


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


def check_admin(user: User) -> None:
    if user.role != "admin":
        raise Forbidden(f"only an admin may do this; you are a {user.role}")
