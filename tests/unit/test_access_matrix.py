"""The authorization matrix (tests/access_matrix.py) over every service's app, built with test
settings (static tokens, OIDC with keys made here), for every cell that needs no database:
each route x each caller gets its expected status. A route the matrix does not name fails;
so does a rule for a route that is gone. The cells that look a key or a user up in Postgres
run in tests/integration/test_access_matrix.py."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mitl_runtime.auth.errors import NOT_VALID

from tests import access_matrix as matrix
from tests.unit.runtime.auth import keys

ADMIN_TOKEN, AUDITOR_TOKEN = "matrix-admin-token", "matrix-auditor-token"


def unsigned_admin() -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': 'rsa-1'})}.{part(keys.claims(roles=['admin']))}."


def caller_headers() -> dict[str, dict[str, str]]:
    now = int(time.time())
    tokens = {
        "expired": keys.token(roles=["admin"], exp=now - 120, iat=now - 600, nbf=now - 600),
        "not-yet-valid": keys.token(roles=["admin"], nbf=now + 600),
        "wrong-audience": keys.token(roles=["admin"], aud="another-service"),
        "alg-none": unsigned_admin(),
        "revoked": "matrix-admin-token-before-rotation",
        "annotator": keys.token(roles=["annotator"]),
        "expert": keys.token(roles=["expert"]),
        "auditor": AUDITOR_TOKEN,
        "auditor-jwt": keys.token(roles=["auditor"]),
        "admin": ADMIN_TOKEN,
        "admin-jwt": keys.token(roles=["admin"]),
        "client": "mitlk_" + "c" * 43,
        "wrong-dataset": "mitlk_" + "w" * 43,
    }
    headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    return headers | {"none": {}, "malformed": {"Authorization": f"Basic {ADMIN_TOKEN}"}}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return {
        "admin_token": ADMIN_TOKEN,
        "auditor_token": AUDITOR_TOKEN,
        "oidc_issuer": keys.ISSUER,
        "oidc_audience": keys.AUDIENCE,
        "oidc_jwks_file": keys.write_jwks(tmp_path_factory.mktemp("jwks")),
        "oidc_leeway_s": 0,
        "artifact_dir": tmp_path_factory.mktemp("artifacts"),
    }


def needs_database(service: str, rule: matrix.Rule, caller: matrix.Caller) -> bool:
    if isinstance(rule, matrix.ReviewUser):
        return True  # review-api's user tokens live in its database
    return service == "ingest" and caller in matrix.NEEDS_DB_INGEST


def cells(service: str) -> Iterator[tuple[tuple[str, str], matrix.Rule, matrix.Caller]]:
    for route, rule in sorted(matrix.rules(service).items()):
        for caller in matrix.CALLERS:
            if not needs_database(service, rule, caller):
                yield route, rule, caller


@pytest.mark.parametrize("service", sorted(matrix.SERVICES))
def test_every_route_has_a_rule_and_every_cell_its_status(
    service: str, settings: dict[str, object]
) -> None:
    app = matrix.build(service, settings)
    served = matrix.routes_of(app)
    assert served - set(matrix.rules(service)) == set(), "routes without a rule in the matrix"
    stale = set(matrix.MATRIX[service]) - served
    assert not stale, f"rules for routes {service} no longer serves"
    client = TestClient(app, raise_server_exceptions=False)
    headers = caller_headers()
    wrong: list[str] = []
    for (method, path), rule, caller in cells(service):
        probe = rule.probe
        answer = client.request(
            method,
            probe.path,
            params=probe.params,
            json=probe.json,
            content=probe.content,
            headers=probe.headers | headers[caller],
        )
        want = matrix.expected(rule, caller)
        got = answer.status_code
        ok = got not in (401, 403) if want is None else got == want
        if ok and got in (401, 403):
            detail = answer.json()["detail"]
            ok = isinstance(detail, str) and bool(detail)
            for secret in (ADMIN_TOKEN, AUDITOR_TOKEN, headers[caller].get("Authorization", "")):
                ok = ok and not (secret and secret.split()[-1] in detail)
        if not ok:
            wrong.append(
                f"{method} {path} as {caller}: {got} (expected {want}) {answer.text[:120]}"
            )
    assert not wrong, "\n".join(wrong)


def test_the_jwt_refusals_say_the_same_words(settings: dict[str, object]) -> None:
    """An expired, a not-yet-valid, a wrong-audience and an unsigned JWT, a revoked token and
    another service's key are refused in the same words: nothing says which part was right."""
    client = TestClient(matrix.build("trainer", settings), raise_server_exceptions=False)
    headers = caller_headers()
    callers = ("expired", "not-yet-valid", "wrong-audience", "alg-none", "revoked", "client")
    details = {
        caller: client.post("/v1/retrain/nope", headers=headers[caller]).json()["detail"]
        for caller in callers
    }
    assert set(details.values()) == {NOT_VALID}, details


def test_the_matrix_covers_every_service_and_caller() -> None:
    assert set(matrix.MATRIX) == set(matrix.SERVICES)
    assert len(set(matrix.CALLERS)) == len(matrix.CALLERS)
    assert Path(matrix.__file__).exists()
