"""The operator's admin token on administrative routes: off (403) without one configured,
401 without the header, with another scheme or another token, through with the token."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from mitl_runtime.admin import admin_guard
from pydantic import SecretStr


def app(token: str | None) -> TestClient:
    api = FastAPI()
    secret = SecretStr(token) if token is not None else None

    @api.post("/v1/thing", dependencies=[Depends(admin_guard(secret, "thing changes"))])
    def thing() -> dict[str, bool]:
        return {"done": True}

    return TestClient(api)


def test_without_a_configured_token_the_routes_are_off() -> None:
    answer = app(None).post("/v1/thing", headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 403
    assert answer.json()["detail"] == (
        "thing changes over HTTP is off: set MITL_ADMIN_TOKEN on this service to allow it"
    )


def test_only_the_token_gets_through_and_refusals_do_not_say_which_part_was_wrong() -> None:
    client = app("s3cret-token")
    for headers in ({}, {"Authorization": "Basic czNjcmV0"}, {"Authorization": "Bearer "}):
        answer = client.post("/v1/thing", headers=headers)
        assert answer.status_code == 401, headers
        assert "admin token is needed" in answer.json()["detail"]
        assert answer.headers["www-authenticate"].startswith("Bearer")
    for wrong in ("s3cret", "s3cret-token-", "S3CRET-TOKEN", "s3cret-token s3cret-token"):
        answer = client.post("/v1/thing", headers={"Authorization": f"Bearer {wrong}"})
        assert (answer.status_code, answer.json()["detail"]) == (
            401,
            "the admin token is not valid",
        )
    ok = client.post("/v1/thing", headers={"Authorization": "bearer s3cret-token"})
    assert (ok.status_code, ok.json()) == (200, {"done": True})
