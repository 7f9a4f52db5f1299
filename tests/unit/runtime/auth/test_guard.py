"""The FastAPI dependency: each refusal as its HTTP answer (401 with a Bearer challenge, 403,
429 with Retry-After), the caller on request.state otherwise."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from mitl_runtime.auth.authenticator import Authenticator
from mitl_runtime.auth.errors import RateLimited
from mitl_runtime.auth.guard import http_error, requires
from mitl_runtime.auth.static import StaticTokens


def client(auth: Authenticator) -> TestClient:
    api = FastAPI()

    @api.post("/v1/retrain", dependencies=[Depends(requires(auth, "retrain:request", "retrain"))])
    def retrain(request: Request) -> dict[str, str]:
        return {"by": request.state.principal.describe()}

    return TestClient(api)


def test_answers() -> None:
    api = client(Authenticator(StaticTokens.of({"admin": "adm", "auditor": "aud"})))
    none = api.post("/v1/retrain")
    assert none.status_code == 401 and "missing credentials" in none.json()["detail"]
    assert none.headers["www-authenticate"].startswith("Bearer")
    assert api.post("/v1/retrain", headers={"Authorization": "Bearer x"}).status_code == 401
    auditor = api.post("/v1/retrain", headers={"Authorization": "Bearer aud"})
    assert auditor.status_code == 403 and "needs the role admin" in auditor.json()["detail"]
    ok = api.post("/v1/retrain", headers={"Authorization": "Bearer adm"})
    assert (ok.status_code, ok.json()) == (200, {"by": "static-token:admin-token"})
    off = client(Authenticator()).post("/v1/retrain", headers={"Authorization": "Bearer adm"})
    assert off.status_code == 403 and "over HTTP is off" in off.json()["detail"]


def test_rate_limited_says_when_to_retry() -> None:
    error = http_error(RateLimited("slow down", 0.2))
    assert (error.status_code, error.detail, error.headers) == (
        429,
        "slow down",
        {"Retry-After": "1"},
    )
