"""Static tokens and JWTs through one Authenticator, then the permission a route needs: 401
without credentials or with bad ones, 403 for a role without the right (or a surface with no
way to grant it), the principal otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_runtime.auth.authenticator import Authenticator, bearer
from mitl_runtime.auth.errors import MISSING, NOT_VALID, Forbidden, Unauthenticated
from mitl_runtime.auth.roles import GRANTS, PERMISSIONS_ALL, ROLES, allows, holders
from mitl_runtime.auth.settings import AccessSettings
from mitl_runtime.auth.static import StaticTokens
from mitl_runtime.auth.tokens import hash_token, new_token
from pydantic import ValidationError

from tests.unit.runtime.auth import keys


def test_every_permission_has_a_holder_and_admin_is_not_a_labeler() -> None:
    for permission in PERMISSIONS_ALL:
        assert holders(permission), permission
    assert set(GRANTS) == set(ROLES)
    assert allows({"admin"}, "export:read") and allows({"auditor"}, "export:read")
    assert not allows({"auditor"}, "retrain:request")
    assert not allows({"admin"}, "items:write") and not allows({"admin"}, "review:label")
    assert holders("retrain:request") == ["admin"]


def test_tokens_are_random_and_kept_as_sha256() -> None:
    one, two = new_token("p_"), new_token("p_")
    assert one != two and one.startswith("p_") and len(one) == 45
    assert hash_token(one) == hash_token(one) and len(hash_token(one)) == 64


def test_static_tokens_grant_their_role_only() -> None:
    static = StaticTokens.of({"admin": "adm-secret", "auditor": "aud-secret", "expert": " "})
    assert static.roles == {"admin", "auditor"}
    assert static.authenticate("adm-secret").roles == {"admin"}  # type: ignore[union-attr]
    assert static.authenticate("aud-secret").roles == {"auditor"}  # type: ignore[union-attr]
    assert static.authenticate("adm-secret ") is None and static.authenticate("") is None
    assert "adm-secret" not in repr(static)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_credentials(header: str | None) -> None:
    with pytest.raises(Unauthenticated, match="missing credentials"):
        bearer(header)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer    ", "Token x"])
def test_malformed_credentials(header: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed credentials"):
        bearer(header)


def test_authorize_static() -> None:
    auth = Authenticator(StaticTokens.of({"admin": "adm", "auditor": "aud"}))
    assert auth.authorize("bearer adm", "retrain:request", "retraining").roles == {"admin"}
    assert auth.authorize("Bearer aud", "export:read", "export").roles == {"auditor"}
    with pytest.raises(Forbidden, match="retraining needs the role admin; this credential"):
        auth.authorize("Bearer aud", "retrain:request", "retraining")
    with pytest.raises(Unauthenticated) as wrong:
        auth.authorize("Bearer adm2", "retrain:request", "retraining")
    assert wrong.value.message == NOT_VALID
    with pytest.raises(Unauthenticated) as none:
        auth.authorize(None, "retrain:request", "retraining")
    assert none.value.message == MISSING


def test_a_surface_nobody_can_be_granted_is_off() -> None:
    auth = Authenticator(StaticTokens.of({"auditor": "aud"}))
    with pytest.raises(Forbidden, match="retraining over HTTP is off: set MITL_ADMIN_TOKEN"):
        auth.authorize("Bearer anything", "retrain:request", "retraining")
    with pytest.raises(Unauthenticated):  # no credentials is still 401
        auth.authorize(None, "retrain:request", "retraining")


def test_jwts_and_static_tokens_side_by_side(tmp_path: Path) -> None:
    settings = AccessSettings(
        admin_token="adm",
        oidc_issuer=keys.ISSUER,
        oidc_audience=keys.AUDIENCE,
        oidc_jwks_file=keys.write_jwks(tmp_path),
    )
    auth = settings.authenticator()
    person = auth.authorize(f"Bearer {keys.token(roles=['auditor'])}", "reports:read", "reports")
    assert (person.via, person.subject) == ("jwt", "user-42")
    assert auth.authorize("Bearer adm", "reports:read", "reports").via == "static-token"
    with pytest.raises(Forbidden):
        auth.authorize(f"Bearer {keys.token(roles=['annotator'])}", "reports:read", "reports")
    with pytest.raises(Unauthenticated):
        auth.authorize(f"Bearer {keys.token(aud='x')}", "reports:read", "reports")
    # With OIDC configured every person role can be granted: nothing is "off".
    assert all(auth.can_grant(p) for p in PERMISSIONS_ALL if p != "items:write")


def test_oidc_settings_come_whole_and_secrets_are_hidden(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="OIDC needs oidc_audience"):
        AccessSettings(oidc_issuer=keys.ISSUER, oidc_jwks_url="https://x/jwks")
    with pytest.raises(ValidationError, match="not both"):
        AccessSettings(
            oidc_issuer=keys.ISSUER,
            oidc_audience=keys.AUDIENCE,
            oidc_jwks_url="https://x/jwks",
            oidc_jwks_file=keys.write_jwks(tmp_path),
        )
    with pytest.raises(ValidationError, match="http:// or https://"):
        AccessSettings(
            oidc_issuer=keys.ISSUER, oidc_audience=keys.AUDIENCE, oidc_jwks_url="file:///etc/x"
        )
    settings = AccessSettings(admin_token="very-secret", auditor_token="")
    assert settings.auditor_token is None
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())
