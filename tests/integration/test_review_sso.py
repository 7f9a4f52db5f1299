"""Single sign-on on the review API, against the real broker and Postgres, with keys the test
makes (tests.unit.runtime.auth.keys): a person's OIDC JWT (RS256 or ES256) makes them a review
user on first use, by a stable id from issuer and subject, with the display name from the
configured claim and the role from the roles claim; assignments and disabling apply to them;
each bad JWT is a 401 in the same words; the admin's user routes manage them, and every
change is an AccessChanged event in review's outbox with who made it and no secret."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_review.app import create_app
from mitl_review.core import sso
from mitl_review.settings import Settings
from mitl_runtime.auth.errors import NOT_VALID
from mitl_runtime.db import create_pool

from tests.integration.test_review import write_datasets
from tests.support import running_app
from tests.unit.runtime.auth import keys
from tests.unit.test_access_matrix import unsigned_admin

pytestmark = pytest.mark.integration


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def settings(service_env: dict[str, Any], tmp_path: Path, tag: str) -> Settings:
    path = write_datasets(tmp_path / "datasets.yaml", [f"sa-{tag}", f"sb-{tag}"])
    return Settings(
        **{
            **service_env,
            "datasets_file": path,
            "oidc_issuer": keys.ISSUER,
            "oidc_audience": keys.AUDIENCE,
            "oidc_jwks_file": keys.write_jwks(tmp_path),
            "oidc_name_claim": "name",
            "oidc_leeway_s": 0,
        }
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def access_events(database_url: str, subject: str) -> list[dict[str, Any]]:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        rows = await pool.fetch(
            "SELECT payload::text AS payload FROM review.outbox WHERE topic = $1 ORDER BY seq",
            topics.ACCESS,
        )
    finally:
        await pool.close()
    events = [json.loads(r["payload"]) for r in rows]
    return [e for e in events if e["subject"] == subject]


async def test_a_person_signs_in_with_a_jwt_and_is_managed_like_any_user(
    settings: Settings, tag: str
) -> None:
    ds_a, ds_b = f"sa-{tag}", f"sb-{tag}"
    ann_sub, admin_sub = f"ann-{tag}", f"adm-{tag}"
    rs = keys.token(sub=ann_sub, roles=["annotator"], name=f"Ann {tag}")
    es = keys.token(
        key=keys.EC_KEY, algorithm="ES256", kid="ec-1", sub=ann_sub, roles=["annotator"]
    )
    admin = bearer(keys.token(sub=admin_sub, roles=["admin"], preferred_username=f"boss-{tag}"))
    ann_id = sso.user_id(keys.ISSUER, ann_sub)
    async with running_app(create_app(settings)) as client:
        # First use creates the user; an RS256 and an ES256 JWT of the same person are one user.
        me = await client.get("/v1/me", headers=bearer(rs))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == ann_id and me.json()["name"] == f"Ann {tag}"
        assert me.json()["role"] == "annotator" and me.json()["datasets"] is None
        me_es = await client.get("/v1/me", headers=bearer(es))
        assert me_es.status_code == 200 and me_es.json()["id"] == ann_id

        # The admin (display name from preferred_username) sees them, by id and name.
        listed = await client.get("/v1/users", headers=admin)
        assert listed.status_code == 200, listed.text
        people = {u["id"]: u for u in listed.json()["users"]}
        assert people[ann_id]["display_name"] == f"Ann {tag}" and people[ann_id]["sso"]
        assert people[ann_id]["status"] == "active"
        admin_id = sso.user_id(keys.ISSUER, admin_sub)
        assert people[admin_id]["display_name"] == f"boss-{tag}"
        assert "token" not in json.dumps(listed.json()).replace("token_expires_at", "")

        # Assignments apply to an SSO user at once (their cached JWT too).
        assigned = await client.post(
            f"/v1/users/{ann_id}/assign", json={"datasets": [ds_a]}, headers=admin
        )
        assert assigned.status_code == 200 and assigned.json()["datasets"] == [ds_a]
        me = await client.get("/v1/me", headers=bearer(rs))
        assert me.json()["datasets"] == [ds_a]
        claim_b = await client.post(f"/v1/queues/{ds_b}/annotator/claim", headers=bearer(rs))
        assert claim_b.status_code == 403, claim_b.text
        unassigned = await client.post(
            f"/v1/users/{ann_id}/unassign", json={"datasets": [ds_a]}, headers=admin
        )
        assert unassigned.status_code == 200 and unassigned.json()["datasets"] == []
        bogus = await client.post(
            f"/v1/users/{ann_id}/assign", json={"datasets": ["not-a-dataset"]}, headers=admin
        )
        assert bogus.status_code == 422 and "not-a-dataset" in bogus.json()["detail"]

        # An SSO person holds no token of ours: rotating is a conflict, named.
        rotate = await client.post(f"/v1/users/{ann_id}/rotate-token", headers=admin)
        assert rotate.status_code == 409 and "single sign-on" in rotate.json()["detail"]

        # Disabled: refused at once, though their JWT is still good and was cached.
        disabled = await client.post(f"/v1/users/{ann_id}/disable", headers=admin)
        assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
        refused = await client.get("/v1/me", headers=bearer(rs))
        assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
        fresh = keys.token(sub=ann_sub, roles=["annotator"], name=f"Ann {tag}", jti="2")
        assert (await client.get("/v1/me", headers=bearer(fresh))).status_code == 403
        enabled = await client.post(f"/v1/users/{ann_id}/enable", headers=admin)
        assert enabled.status_code == 200 and enabled.json()["status"] == "active"
        assert (await client.get("/v1/me", headers=bearer(rs))).status_code == 200

        # The role follows the JWT: the same person signing in as an expert is an expert.
        expert = keys.token(sub=ann_sub, roles=["expert", "auditor"], name=f"Ann {tag}")
        me = await client.get("/v1/me", headers=bearer(expert))
        assert me.status_code == 200 and me.json()["role"] == "expert"
        assert me.json()["id"] == ann_id

        # An auditor's JWT carries no review role: 403, saying so.
        auditor = keys.token(sub=f"aud-{tag}", roles=["auditor"])
        no_role = await client.get("/v1/me", headers=bearer(auditor))
        assert no_role.status_code == 403 and "no review role" in no_role.json()["detail"]

        # Token users still work beside SSO; an admin rotating a token gets it once.
        created = await client.post(
            "/v1/users", json={"name": f"tok-{tag}", "role": "annotator"}, headers=admin
        )
        assert created.status_code == 201, created.text
        rotated = await client.post(
            f"/v1/users/tok-{tag}/rotate-token", json={"expires_in_days": 7}, headers=admin
        )
        assert rotated.status_code == 200 and rotated.json()["token_expires_at"] is not None
        new_token = rotated.json()["token"]
        assert (await client.get("/v1/me", headers=bearer(new_token))).status_code == 200
        old = await client.get("/v1/me", headers=bearer(created.json()["token"]))
        assert old.status_code == 401
        # The lifecycle routes are the admin's: an annotator gets 403, nobody 401.
        assert (await client.get("/v1/users", headers=bearer(rs))).status_code == 403
        assert (await client.get("/v1/users")).status_code == 401
        missing = await client.post("/v1/users/nobody-here/disable", headers=admin)
        assert missing.status_code == 404

    events = await access_events(str(settings.database_url), ann_id)
    actions = [(e["action"], e["actor"]) for e in events]
    admin_actor = f"user:{admin_id}"
    assert actions == [
        ("user.sso-create", f"oidc:{keys.ISSUER}"),
        ("user.assign", admin_actor),
        ("user.unassign", admin_actor),
        ("user.disable", admin_actor),
        ("user.enable", admin_actor),
        ("user.role", f"oidc:{keys.ISSUER}"),
        # Their annotator JWT again (asking for the user list): the role follows it back.
        ("user.role", f"oidc:{keys.ISSUER}"),
    ]
    assert events[-2]["changes"] == {"role": "expert", "was": "annotator"}
    assert events[-1]["changes"] == {"role": "annotator", "was": "expert"}
    token_events = await access_events(str(settings.database_url), f"tok-{tag}")
    assert [e["action"] for e in token_events] == ["user.create", "user.rotate-token"]
    for event in events + token_events:
        text = json.dumps(event)
        assert new_token not in text and created.json()["token"] not in text
        assert "sha256" not in text


async def test_each_bad_jwt_is_a_401_in_the_same_words(settings: Settings, tag: str) -> None:
    now = int(time.time())
    sub = f"bad-{tag}"
    bad = {
        "wrong audience": keys.token(roles=["annotator"], sub=sub, aud="another-service"),
        "another service's token": keys.token(roles=["admin"], sub=sub, aud="mitl-ingest"),
        "expired": keys.token(
            roles=["annotator"], sub=sub, exp=now - 60, iat=now - 600, nbf=now - 600
        ),
        "not yet valid": keys.token(roles=["annotator"], sub=sub, nbf=now + 600),
        "alg none": unsigned_admin(),
        "unknown key": keys.token(key=keys.OTHER_RSA_KEY, roles=["annotator"], sub=sub),
        "unknown kid": keys.token(
            key=keys.OTHER_RSA_KEY, kid="other-1", roles=["annotator"], sub=sub
        ),
        "wrong issuer": keys.token(roles=["annotator"], sub=sub, iss="https://elsewhere.test/"),
        "HS256 with the public key's kid": keys.token(
            key="a-shared-secret-of-32-bytes-or-more!", algorithm="HS256", roles=["admin"], sub=sub
        ),
    }
    async with running_app(create_app(settings)) as client:
        for reason, token in bad.items():
            answer = await client.get("/v1/me", headers=bearer(token))
            assert answer.status_code == 401, (reason, answer.text)
            assert answer.json()["detail"] == NOT_VALID, reason
            assert token not in answer.text
            assert answer.headers["www-authenticate"].startswith("Bearer")
        # Nobody was created for a refused JWT.
        pool = await create_pool(str(settings.database_url), min_size=1, max_size=1)
        try:
            made = await pool.fetchval(
                "SELECT count(*) FROM review.users WHERE sso_subject = $1", sub
            )
        finally:
            await pool.close()
        assert made == 0
