"""Every route of the review API answers the right people only: without a token 401, with an
unknown token 401, with a role that may not use it 403 (each with a message), and with a role
that may, anything but 401/403. Routes are taken from `app.routes` itself, so a route added
without being classified below fails this test until someone decides who may use it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from mitl_contracts import topics
from mitl_review.app import create_app
from mitl_review.core.intake import task_id_for
from mitl_review.settings import Settings
from mitl_review.store import users

from tests.support import eventually, publish_raw, running_app

pytestmark = pytest.mark.integration

ROLES = ("annotator", "expert", "admin")
GOLD = {"external_id": "access-gold-1", "text": "Who wrote Hamlet ?", "label": "HUM"}
EVERYONE = frozenset(ROLES)
GUIDELINES = {"markdown": "# trec6", "labels": {"HUM": {"description": "A person"}}}
# Routes anyone may call: the UI page and its files, health, metrics and the API documents
# (OpenAPI, and the AsyncAPI document of the service's topics).
PUBLIC = {
    ("GET", "/"),
    ("GET", "/static"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/asyncapi.json"),
}
# (method, path template) -> a concrete request -> the roles allowed to make it. Claiming
# depends on the queue: annotators work the annotator queue only, admins label nothing.
PROTECTED: dict[tuple[str, str], list[tuple[str, Any, frozenset[str]]]] = {
    ("GET", "/v1/queues"): [("/v1/queues", None, EVERYONE)],
    ("GET", "/v1/me"): [("/v1/me", None, EVERYONE)],
    ("GET", "/v1/datasets"): [("/v1/datasets", None, EVERYONE)],
    ("POST", "/v1/queues/{dataset}/{queue}/claim"): [
        ("/v1/queues/trec6/annotator/claim", None, frozenset({"annotator", "expert"})),
        ("/v1/queues/trec6/expert/claim", None, frozenset({"expert"})),
    ],
    ("POST", "/v1/tasks/{task_id}/submit"): [
        # A real task (in the annotator queue): past authentication, only admins are refused
        # (the others get 409, they hold no lease on it).
        ("/v1/tasks/{task_id}/submit", {"action": "skip"}, frozenset({"annotator", "expert"}))
    ],
    ("POST", "/v1/users"): [
        ("/v1/users", {"name": f"made-{uuid.uuid4().hex[:6]}", "role": "annotator"}, {"admin"})
    ],
    # The user lifecycle: admins only (an unknown user id: an admin gets 404, never 401/403).
    ("GET", "/v1/users"): [("/v1/users", None, frozenset({"admin"}))],
    ("POST", "/v1/users/{user_id}/disable"): [
        ("/v1/users/nobody-here/disable", None, frozenset({"admin"}))
    ],
    ("POST", "/v1/users/{user_id}/enable"): [
        ("/v1/users/nobody-here/enable", None, frozenset({"admin"}))
    ],
    ("POST", "/v1/users/{user_id}/rotate-token"): [
        ("/v1/users/nobody-here/rotate-token", None, frozenset({"admin"}))
    ],
    ("POST", "/v1/users/{user_id}/assign"): [
        ("/v1/users/nobody-here/assign", {"datasets": ["trec6"]}, frozenset({"admin"}))
    ],
    ("POST", "/v1/users/{user_id}/unassign"): [
        ("/v1/users/nobody-here/unassign", {"datasets": ["trec6"]}, frozenset({"admin"}))
    ],
    ("GET", "/v1/gold/{dataset}"): [("/v1/gold/trec6", None, frozenset({"admin"}))],
    ("POST", "/v1/gold/{dataset}"): [("/v1/gold/trec6", {"items": [GOLD]}, frozenset({"admin"}))],
    ("GET", "/v1/annotators"): [("/v1/annotators", None, frozenset({"admin"}))],
    # Everyone labels by the guidelines; only admins change them.
    ("GET", "/v1/datasets/{dataset}/guidelines"): [
        ("/v1/datasets/trec6/guidelines", None, EVERYONE)
    ],
    ("GET", "/v1/datasets/{dataset}/guidelines/versions"): [
        ("/v1/datasets/trec6/guidelines/versions", None, EVERYONE)
    ],
    ("GET", "/v1/datasets/{dataset}/guidelines/versions/{number}"): [
        ("/v1/datasets/trec6/guidelines/versions/1", None, EVERYONE)
    ],
    ("PUT", "/v1/datasets/{dataset}/guidelines"): [
        ("/v1/datasets/trec6/guidelines", GUIDELINES, frozenset({"admin"}))
    ],
}


def review_request(item: str) -> dict[str, Any]:
    """A ReviewRequested for trec6's annotator queue, as the router publishes it."""
    return {
        "event_id": f"rr-{item}",
        "dataset": "trec6",
        "item_id": item,
        "decision_event_id": f"decision-{item}",
        "queue": "annotator",
        "priority": 0.5,
        "reason": "access test",
        "content": {"text": "Who wrote Hamlet ?"},
        "suggested_label": "HUM",
        "confidence": 0.55,
        "labels": ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"],
        "probabilities": [0.05, 0.05, 0.15, 0.55, 0.1, 0.1],
        "model_version": "trec6-m1",
        "policy_version": "test-v1",
    }


def routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, HEAD aside. Routers that FastAPI keeps nested (its
    included-router objects) are walked through their effective routes."""
    found: set[tuple[str, str]] = set()

    def add(path: str, methods: Any) -> None:
        for method in methods or {"GET"}:
            if method != "HEAD":
                found.add((method, path))

    def walk(entries: Iterator[Any]) -> None:
        for entry in entries:
            if hasattr(entry, "effective_route_contexts"):
                for context in entry.effective_route_contexts():
                    add(context.path, getattr(context.original_route, "methods", None))
            elif hasattr(entry, "path"):
                add(entry.path, getattr(entry, "methods", None))

    walk(iter(app.routes))
    return found


@pytest.fixture(scope="module")
async def review(service_env: dict[str, Any]) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    app = create_app(Settings(**service_env))
    async with running_app(app) as client:
        yield app, client


@pytest.fixture(scope="module")
async def task_id(service_env: dict[str, Any], review: tuple[FastAPI, AsyncClient]) -> str:
    """A task in trec6's annotator queue, from a review request on the topic."""
    app, _ = review
    event = review_request(f"access-{uuid.uuid4().hex[:8]}")
    bootstrap = service_env["kafka_bootstrap_servers"]
    await publish_raw(bootstrap, topics.REVIEW_REQUESTED, [json.dumps(event).encode()])
    task = task_id_for(event["event_id"])
    pool = app.state.review.pool
    await eventually(lambda: pool.fetchval("SELECT 1 FROM review.tasks WHERE task_id = $1", task))
    return task


async def tokens(app: FastAPI) -> dict[str, str]:
    pool = app.state.review.pool
    tag = uuid.uuid4().hex[:6]
    return {role: await users.create(pool, f"access-{role}-{tag}", role) for role in ROLES}


async def test_every_route_is_classified(review: tuple[FastAPI, AsyncClient]) -> None:
    app, _ = review
    unclassified = routes(app) - PUBLIC - set(PROTECTED)
    assert not unclassified, f"decide who may call {sorted(unclassified)} (PUBLIC or PROTECTED)"
    assert set(PROTECTED) <= routes(app), "PROTECTED names a route the app does not have"


@pytest.mark.parametrize("route", sorted(PROTECTED))
async def test_each_route_answers_only_the_roles_it_should(
    review: tuple[FastAPI, AsyncClient], task_id: str, route: tuple[str, str]
) -> None:
    app, client = review
    method = route[0]
    keys = await tokens(app)
    for template, body, allowed in PROTECTED[route]:
        path = template.format(task_id=task_id)
        for headers, who in (
            ({}, "no token"),
            ({"Authorization": "Bearer not-a-token"}, "unknown token"),
            ({"Authorization": "Basic dXNlcjpwYXNz"}, "not a bearer token"),
        ):
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, f"{method} {path} with {who}: {response.text}"
            assert response.json()["detail"] and response.headers["www-authenticate"] == "Bearer"
        for role in ROLES:
            auth = {"Authorization": f"Bearer {keys[role]}"}
            response = await client.request(method, path, json=body, headers=auth)
            if role in allowed:
                assert response.status_code not in (401, 403), f"{role}: {response.text}"
            else:
                assert response.status_code == 403, f"{method} {path} as {role}: {response.text}"
                assert response.json()["detail"]


async def test_public_routes_need_no_token(review: tuple[FastAPI, AsyncClient]) -> None:
    _, client = review
    for method, path in sorted(PUBLIC - {("GET", "/static"), ("GET", "/readyz")}):
        response = await client.request(method, path)
        assert response.status_code == 200, f"{method} {path}: {response.status_code}"
