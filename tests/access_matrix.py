"""The authorization matrix: for every route of every service's app, what each kind of caller
gets. Read by tests/unit/test_access_matrix.py (every cell that needs no database) and
tests/integration/test_access_matrix.py (the cells that look a key or a user up in Postgres).

A rule per route (method, path template) says who gets through and which probe request to
send; the expected status of each cell is derived from the rule, so adding a role means adding
a column, and a route without a rule fails the tests."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from mitl_runtime.auth.roles import Permission, allows

SERVICES = {
    "ingest": "mitl_ingest",
    "inference": "mitl_inference",
    "router": "mitl_router",
    "review-api": "mitl_review",
    "audit": "mitl_audit",
    "drift-monitor": "mitl_drift",
    "trainer": "mitl_trainer",
}

# The callers, each a column of the matrix.
Caller = Literal[
    "none",  # no Authorization header
    "malformed",  # another scheme (Basic)
    "expired",  # an admin's JWT past its exp
    "not-yet-valid",  # an admin's JWT before its nbf
    "wrong-audience",  # an admin's JWT for another service
    "alg-none",  # an unsigned JWT claiming admin
    "revoked",  # a static token no longer configured; for ingest a revoked client key
    "annotator",  # a JWT with the role annotator
    "expert",  # a JWT with the role expert
    "auditor",  # the static auditor token
    "auditor-jwt",  # a JWT with the role auditor
    "admin",  # the static admin token
    "admin-jwt",  # a JWT with the role admin
    "client",  # an ingest client key for every dataset
    "wrong-dataset",  # an ingest client key scoped to another dataset
]
CALLERS: tuple[Caller, ...] = (
    "none", "malformed", "expired", "not-yet-valid", "wrong-audience", "alg-none", "revoked",
    "annotator", "expert", "auditor", "auditor-jwt", "admin", "admin-jwt", "client",
    "wrong-dataset",
)  # fmt: skip
ROLES_OF: dict[Caller, set[str]] = {
    "annotator": {"annotator"},
    "expert": {"expert"},
    "auditor": {"auditor"},
    "auditor-jwt": {"auditor"},
    "admin": {"admin"},
    "admin-jwt": {"admin"},
}
# Cells that look a credential up in Postgres (ingest's client keys, review's users).
NEEDS_DB_INGEST: frozenset[Caller] = frozenset({"client", "wrong-dataset", "revoked"})


@dataclass(frozen=True)
class Probe:
    """The request sent to a route: concrete path, query, body. Chosen so that a caller who
    gets through is answered without a database (a 404 or a 422 on purpose), where it can."""

    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Open:
    """Anyone: the probe's status for every caller (None: whatever the route answers without
    its database, but never 401 or 403)."""

    probe: Probe
    status: int | None


@dataclass(frozen=True)
class Guarded:
    """Callers holding `permission` get `status` (the probe's answer past the guard); a valid
    credential without it 403; no, a malformed or an invalid credential 401."""

    permission: Permission
    probe: Probe
    status: int


@dataclass(frozen=True)
class ClientKey:
    """Ingest: a client key for the dataset gets `status`; one scoped elsewhere 403; anything
    else 401 (a person's token or JWT is no client key)."""

    probe: Probe
    status: int


REVIEW_ROLES = frozenset({"annotator", "expert", "admin"})
# The callers holding a person's JWT with a review role (review-api's single sign-on).
REVIEW_JWT: dict[Caller, str] = {"annotator": "annotator", "expert": "expert", "admin-jwt": "admin"}


@dataclass(frozen=True)
class ReviewUser:
    """review-api: its own users' tokens (`mitl users create`; the users' own matrix is
    review-api's tests) or a person's OIDC JWT (single sign-on). A JWT whose review role is in
    `roles` gets `status` (None: anything but 401 and 403); one with another review role, or
    an auditor's (no review role), 403; every other caller (static tokens, client keys, bad
    JWTs) 401."""

    probe: Probe
    roles: frozenset[str] = REVIEW_ROLES
    status: int | None = None


ADMIN = frozenset({"admin"})
LABELERS = frozenset({"annotator", "expert"})
NO_USER = "nobody-in-the-matrix"


Rule = Open | Guarded | ClientKey | ReviewUser

OPS: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Open(Probe("/healthz"), 200),
    ("GET", "/readyz"): Open(Probe("/readyz"), None),  # 503 until started, 200 then
    ("GET", "/metrics"): Open(Probe("/metrics"), 200),
    ("GET", "/asyncapi.json"): Open(Probe("/asyncapi.json"), 200),
    ("GET", "/openapi.json"): Open(Probe("/openapi.json"), 200),
    ("GET", "/docs"): Open(Probe("/docs"), 200),
    ("GET", "/docs/oauth2-redirect"): Open(Probe("/docs/oauth2-redirect"), 200),
    ("GET", "/redoc"): Open(Probe("/redoc"), 200),
}
BACKWARDS = {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}  # 422: ends first
GZIP = {"content-type": "application/gzip"}

MATRIX: dict[str, dict[tuple[str, str], Rule]] = {
    "ingest": {
        ("POST", "/v1/items"): ClientKey(
            Probe(
                "/v1/items", json={"dataset": "nope", "items": [{"external_id": "x", "text": "y"}]}
            ),
            404,
        ),
        ("POST", "/v1/items/{dataset}/image"): ClientKey(
            Probe(
                "/v1/items/nope/image",
                params={"external_id": "x"},
                content=b"\x89PNG\r\n\x1a\n",
                headers={"content-type": "image/png"},
            ),
            404,
        ),
    },
    "inference": {
        ("GET", "/v1/models"): Open(Probe("/v1/models"), 200),
        ("GET", "/v1/registry"): Open(Probe("/v1/registry"), None),
        ("POST", "/v1/registry"): Guarded(
            "models:manage",
            Probe("/v1/registry", content=b"{}", headers={"content-type": "application/json"}),
            415,
        ),
        ("POST", "/v1/registry/{dataset}/{version}/{action}"): Guarded(
            "models:manage", Probe("/v1/registry/trec6/v1/bogus"), 422
        ),
    },
    "router": {
        ("GET", "/v1/policies"): Open(Probe("/v1/policies"), None),
    },
    "review-api": {
        ("GET", "/"): Open(Probe("/"), 200),
        ("GET", "/static"): Open(Probe("/static/app.css"), 200),
        ("GET", "/v1/queues"): ReviewUser(Probe("/v1/queues"), status=200),
        ("POST", "/v1/queues/{dataset}/{queue}/claim"): ReviewUser(
            Probe("/v1/queues/trec6/annotator/claim"), LABELERS
        ),
        ("POST", "/v1/tasks/{task_id}/submit"): ReviewUser(
            Probe("/v1/tasks/t1/submit", json={"action": "skip"}), status=404
        ),
        ("POST", "/v1/users"): ReviewUser(
            # A dataset not in the catalog: an admin gets 422 and nobody is created.
            Probe("/v1/users", json={"name": "x", "role": "annotator", "datasets": ["nope"]}),
            ADMIN,
            422,
        ),
        ("GET", "/v1/users"): ReviewUser(Probe("/v1/users"), ADMIN, 200),
        ("POST", "/v1/users/{user_id}/disable"): ReviewUser(
            Probe(f"/v1/users/{NO_USER}/disable"), ADMIN, 404
        ),
        ("POST", "/v1/users/{user_id}/enable"): ReviewUser(
            Probe(f"/v1/users/{NO_USER}/enable"), ADMIN, 404
        ),
        ("POST", "/v1/users/{user_id}/rotate-token"): ReviewUser(
            Probe(f"/v1/users/{NO_USER}/rotate-token"), ADMIN, 404
        ),
        ("POST", "/v1/users/{user_id}/assign"): ReviewUser(
            Probe(f"/v1/users/{NO_USER}/assign", json={"datasets": ["trec6"]}), ADMIN, 404
        ),
        ("POST", "/v1/users/{user_id}/unassign"): ReviewUser(
            Probe(f"/v1/users/{NO_USER}/unassign", json={"datasets": ["trec6"]}), ADMIN, 404
        ),
        ("GET", "/v1/me"): ReviewUser(Probe("/v1/me"), status=200),
        ("GET", "/v1/datasets"): ReviewUser(Probe("/v1/datasets"), status=200),
        ("GET", "/v1/datasets/{dataset}/guidelines"): ReviewUser(
            Probe("/v1/datasets/trec6/guidelines")
        ),
        ("GET", "/v1/datasets/{dataset}/guidelines/versions"): ReviewUser(
            Probe("/v1/datasets/trec6/guidelines/versions")
        ),
        ("GET", "/v1/datasets/{dataset}/guidelines/versions/{number}"): ReviewUser(
            Probe("/v1/datasets/trec6/guidelines/versions/1")
        ),
        ("PUT", "/v1/datasets/{dataset}/guidelines"): ReviewUser(
            Probe("/v1/datasets/nope/guidelines", json={"markdown": "x"}), ADMIN, 404
        ),
        ("POST", "/v1/gold/{dataset}"): ReviewUser(
            Probe(
                "/v1/gold/nope", json={"items": [{"external_id": "g", "text": "t", "label": "x"}]}
            ),
            ADMIN,
            404,
        ),
        ("GET", "/v1/gold/{dataset}"): ReviewUser(Probe("/v1/gold/nope"), ADMIN, 404),
        ("GET", "/v1/annotators"): ReviewUser(
            Probe("/v1/annotators", params={"dataset": "nope"}), ADMIN, 404
        ),
    },
    "audit": {
        ("GET", "/v1/access"): Guarded(
            "reports:read", Probe("/v1/access", params={"limit": "0"}), 422
        ),
        ("GET", "/v1/reports/{dataset}"): Guarded(
            "reports:read", Probe("/v1/reports/trec6", params=BACKWARDS), 422
        ),
        ("GET", "/v1/overrides/{dataset}"): Guarded(
            "reports:read", Probe("/v1/overrides/trec6", params={"limit": "0"}), 422
        ),
        ("GET", "/v1/export/{dataset}"): Guarded(
            "export:read", Probe("/v1/export/trec6", params=BACKWARDS), 422
        ),
        ("GET", "/v1/items/{dataset}/{item_id}/image"): Guarded(
            "export:read",
            Probe(f"/v1/items/trec6/{'x' * 201}/image"),
            422,  # id too long
        ),
    },
    "drift-monitor": {
        ("GET", "/v1/drift/{dataset}"): Open(Probe("/v1/drift/trec6"), None),
    },
    "trainer": {
        ("POST", "/v1/retrain/{dataset}"): Guarded(
            "retrain:request", Probe("/v1/retrain/nope"), 404
        ),
        ("GET", "/v1/retrain/{dataset}"): Open(
            Probe("/v1/retrain/trec6", params={"limit": "0"}), 422
        ),
    },
}


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves (HEAD aside); a mount is GET."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if route.path is None:
            continue
        methods = route.methods or {"GET"}
        found |= {(method, route.path) for method in methods if method != "HEAD"}
    return found


def rules(service: str) -> dict[tuple[str, str], Rule]:
    return OPS | MATRIX[service]


def build(service: str, settings: dict[str, Any]) -> FastAPI:
    package = SERVICES[service]
    app_module = importlib.import_module(f"{package}.app")
    settings_module = importlib.import_module(f"{package}.settings")
    app: FastAPI = app_module.create_app(settings_module.Settings(**settings))
    return app


def expected(rule: Rule, caller: Caller) -> int | None:
    """The status `caller` gets from a route with `rule` (None: any status but 401 and 403)."""
    if isinstance(rule, Open):
        return rule.status
    if isinstance(rule, ReviewUser):
        role = REVIEW_JWT.get(caller)
        if role is not None:
            return rule.status if role in rule.roles else 403
        return 403 if caller == "auditor-jwt" else 401
    if isinstance(rule, ClientKey):
        return {"client": rule.status, "wrong-dataset": 403}.get(caller, 401)
    roles = ROLES_OF.get(caller)
    if roles is None:
        return 401
    return rule.status if allows(roles, rule.permission) else 403  # type: ignore[arg-type]
