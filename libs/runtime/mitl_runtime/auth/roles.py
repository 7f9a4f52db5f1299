"""The roles a caller may hold and what each is allowed to do.

People: `annotator` and `expert` label; `auditor` reads reports and exports; `admin` runs the
platform (retraining, policies, models, keys). Services calling the platform are `client`s:
they write items into the datasets their key is scoped to, and nothing else.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["annotator", "expert", "auditor", "admin", "client"]
ROLES: tuple[Role, ...] = get_args(Role)

Permission = Literal[
    "items:write",  # POST items into ingest (scoped to the key's datasets)
    "reports:read",  # audit's reports and overrides
    "export:read",  # audit's dataset export (every labeled text)
    "retrain:request",  # ask the trainer for a model now
    "policies:change",  # change a routing policy
    "models:manage",  # register, promote, retire model versions
    "review:label",  # claim and submit review tasks
]
PERMISSIONS_ALL: tuple[Permission, ...] = get_args(Permission)

GRANTS: dict[Role, frozenset[Permission]] = {
    "annotator": frozenset({"review:label"}),
    "expert": frozenset({"review:label"}),
    "auditor": frozenset({"reports:read", "export:read"}),
    "admin": frozenset(
        {"reports:read", "export:read", "retrain:request", "policies:change", "models:manage"}
    ),
    "client": frozenset({"items:write"}),
}


def allows(roles: frozenset[Role] | set[Role], permission: Permission) -> bool:
    return any(permission in GRANTS[role] for role in roles)


def holders(permission: Permission) -> list[Role]:
    """The roles granted `permission`, in ROLES order (for messages)."""
    return [role for role in ROLES if permission in GRANTS[role]]
